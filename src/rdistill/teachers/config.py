"""Typed config of ``rdistill teach``: which rows, which prompt, which teacher backend.

The backend is a tagged union on ``teacher.backend`` (``file``, ``local``, ``openai``),
so a recipe names one kind of teacher and gets only that kind's keys validated.
Loaded like a training recipe: unknown keys and wrong types fail at load time,
every problem reported at once with the file and key (``rdistill.config``'s helpers).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from urllib.parse import urlsplit
from typing import Annotated, Any, Literal, Union

from pydantic import Discriminator, Field, Tag, field_validator

from rdistill.config import Section, validate_recipe

TASKS = ("esnli", "anli", "cqa", "svamp", "gsm8k")
Task = Literal["esnli", "anli", "cqa", "svamp", "gsm8k"]


_Section = Section  # unknown keys, non-finite numbers and true/false as numbers refused


class TeachData(_Section):
    """The rows to annotate and the training split the few-shot examples come from."""

    dataset: str = Field(default="esnli", description="loader name in rdistill.data.paths")
    file: str = Field(description="data file, relative to the data root unless absolute")
    # The split mirrors data.* of a training recipe, so teach and train agree on which rows
    # are training rows: few-shot examples are drawn from those only, never from dev/test.
    dev_size: int = Field(default=200, ge=0)
    test_size: int = Field(default=1000, ge=0)
    split_by: Literal["premise", "row"] = "premise"
    seed: int = Field(default=42, description="the training recipe's seed: same split")
    rows: Literal["train", "all"] = Field(
        default="train", description="annotate the training split only, or every row (shots still from train)"
    )
    limit: int | None = Field(default=None, ge=1, description="annotate only the first N selected rows: with rows=train, the N rows "
                                  "that a recipe with data.train_size=N trains on")
    skip_invalid: bool = False


class PromptConfig(_Section):
    template: str | None = Field(
        default=None, description="template file; null: the packaged one of the task (teachers/prompts/TASK.txt)"
    )
    shots: int = Field(default=3, ge=0, description="few-shot chain-of-thought examples, from the training split")
    shot_seed: int = Field(default=0, description="which training rows become the shots")
    chat: Literal["auto", "never"] = Field(
        default="auto", description="auto: chat messages when the model has a chat template / chat endpoint"
    )


class GenerationSettings(_Section):
    """Part of the cache key: changing any of these regenerates."""

    max_tokens: int = Field(default=64, ge=1)
    temperature: float = Field(default=0.0, ge=0.0, description="0: greedy")
    stop: list[str] = Field(default_factory=lambda: ["\n\n"], description="stop sequences")


class FileTeacher(_Section):
    """Existing teacher outputs: PaLM arrays (row-aligned, in order) or a JSON-lines file by uid."""

    backend: Literal["file"]
    name: str = "palm"
    files: list[str] = Field(min_length=1, description="PaLM .json arrays, or one .jsonl (uid + raw or rationale/label)")


class LocalTeacher(_Section):
    """Any AutoModelForCausalLM: Hub id, local folder, .gguf file or an alias (smollm2-135m-instruct)."""

    backend: Literal["local"]
    name: str | None = Field(default=None, description="teacher name in the output; null: the model name")
    model: str
    dtype: Literal["float32", "bfloat16", "float16"] = "float32"
    batch_size: int = Field(default=8, ge=1)
    device: str = "cpu"
    trust_remote_code: bool = False
    max_prompt_tokens: int = Field(default=1024, ge=16, description="longer prompts are cut from the left")


class OpenAITeacher(_Section):
    """An OpenAI-compatible HTTP endpoint (vLLM, llama.cpp server, hosted APIs)."""

    backend: Literal["openai"]
    name: str | None = Field(default=None, description="teacher name in the output; null: the model name")
    base_url: str = Field(description="e.g. http://127.0.0.1:8000/v1")
    model: str
    endpoint: Literal["chat", "completions"] = "chat"
    api_key_env: str | None = Field(
        default=None, description="NAME of the environment variable holding the API key (never the key)"
    )
    concurrency: int = Field(default=4, ge=1, description="requests in flight at once")
    timeout_s: float = Field(default=60.0, gt=0)
    max_retries: int = Field(default=5, ge=0, description="after these the row is recorded failed (retried next run)")
    backoff_base_s: float = Field(default=1.0, ge=0)
    backoff_max_s: float = Field(default=60.0, ge=0)

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, url: str) -> str:
        # Checked at load: a URL that cannot be asked would only show as rows failing after retries.
        parts = urlsplit(url.strip())
        try:
            parts.port  # noqa: B018 - raises ValueError on a port that is no number or out of range
        except ValueError as err:
            raise ValueError(f"bad port ({err})") from None
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("expected an http:// or https:// URL with a host, e.g. http://127.0.0.1:8000/v1")
        return url


def _backend(value: Any) -> str | None:
    return value.get("backend") if isinstance(value, dict) else getattr(value, "backend", None)


# A callable discriminator rather than Field(discriminator="backend"): pydantic forbids validators
# on a discriminator field, and Section's (true / false is no number) applies to every field.
TeacherConfig = Annotated[
    Union[Annotated[FileTeacher, Tag("file")], Annotated[LocalTeacher, Tag("local")],
          Annotated[OpenAITeacher, Tag("openai")]],
    Discriminator(_backend, custom_error_type="backend",
                  custom_error_message="teacher.backend must be one of: file, local, openai")]


class TeachOutput(_Section):
    keep_unparsed: bool = Field(
        default=False, description="train on rationales whose label could not be parsed (usable: true)"
    )
    cache: str | None = Field(default=None, description="SQLite cache file; null: OUTPUT_DIR/teacher_cache.sqlite")


class TeachConfig(_Section):
    name: str = "teach"
    task: Task = "esnli"
    data: TeachData
    prompt: PromptConfig = Field(default_factory=PromptConfig)
    generation: GenerationSettings = Field(default_factory=GenerationSettings)
    teacher: TeacherConfig
    output: TeachOutput = Field(default_factory=TeachOutput)


def teacher_name(cfg: TeachConfig) -> str:
    t = cfg.teacher
    if isinstance(t, FileTeacher):
        return t.name
    return t.name or Path(t.model).name


def teacher_id(cfg: TeachConfig) -> str:
    """What the cache key calls the teacher: the model, not the display name (renaming keeps the cache)."""
    t = cfg.teacher
    if isinstance(t, FileTeacher):
        return f"file:{t.name}"
    return f"{t.backend}:{t.model}" + (f":{t.endpoint}" if isinstance(t, OpenAITeacher) else "")


def settings_hash(settings: GenerationSettings) -> str:
    return hashlib.sha256(json.dumps(settings.model_dump(), sort_keys=True).encode()).hexdigest()[:16]


def load_teach_config(path: str | Path | None, overrides: list[str] | None = None,
                      raw: dict[str, Any] | None = None) -> TeachConfig:
    """Read a teach recipe (or ``raw``), apply ``key=value`` overrides, validate (all errors at once)."""
    return validate_recipe(TeachConfig, path, overrides, raw)
