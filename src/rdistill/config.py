"""Typed run configuration: one YAML file per recipe, validated before any work.

``load_config(path, overrides)`` collects every problem (unknown key, wrong
type, bad value) and raises one :class:`ConfigError` naming the file and each
key, so a user fixes a recipe in one go instead of one error per run.

The ground floor: the sections every run shares. A method's own section (``latent:``,
``coconut:``) and the registries' names (``method``, ``data.dataset``) are added and checked
by :mod:`rdistill.methods`, whose ``load_recipe`` the command line and sweeps call.
"""

from __future__ import annotations

import copy
import difflib
import hashlib
import logging
import re
import typing
from pathlib import Path
from typing import Any, Literal, TypeVar

import yaml
from pydantic import (BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator,
                      model_validator)

from rdistill.errors import ConfigError, format_validation_errors
from rdistill.io import read_yaml

log = logging.getLogger("rdistill.config")
ModelT = TypeVar("ModelT", bound=BaseModel)


def _takes_bool(t: Any) -> bool:
    return t is bool or t is Any or any(map(_takes_bool, typing.get_args(t)))


class Section(BaseModel):
    """A recipe section (methods' and teach's too): a misspelt key fails instead of being ignored,
    no .inf / .nan numbers, and no true / false where a number goes (pydantic would read 1 / 0)."""
    model_config = ConfigDict(extra="forbid", validate_assignment=True, allow_inf_nan=False)

    @field_validator("*", mode="before")
    @classmethod
    def _no_bool_as_number(cls, value: Any, info: ValidationInfo) -> Any:
        if isinstance(value, bool) and not _takes_bool(cls.model_fields[info.field_name].annotation):
            raise ValueError("true / false is not a value of this key")
        return value


class TeacherSource(Section):
    """One named teacher: PaLM arrays (row-aligned, concatenated in order) or JSON-lines files."""

    name: str = Field(description="the teacher's name in targets and in RUN/teachers.json")
    format: Literal["palm", "jsonl"] = Field(description="palm: JSON arrays of raw completions; "
                                             "jsonl: teacher files matched by uid")
    files: list[str] = Field(min_length=1,
                             description="data files, relative to the data root unless absolute")


class DataConfig(Section):
    dataset: str = Field(default="esnli", description="a task of rdistill.tasks.registry.TASKS")
    train_file: str = Field(description="data file, relative to the data root unless absolute; or hub:NAME:SPLIT")
    teacher_files: list[str | TeacherSource] = Field(
        default_factory=list,
        description="teacher rationales: plain paths are one PaLM teacher 'palm' (row-aligned files, "
                    "in order); {name, format, files} entries are one teacher each",
    )
    eval_file: str | None = Field(default=None, description="separate test file; when null, test "
                                  "rows are split off train_file")
    train_size: int | None = Field(default=None, ge=1, description="cap on training rows after split")
    dev_size: int = Field(default=200, ge=0, description="rows held out for early stopping")
    test_size: int = Field(default=1000, ge=1, description="rows held out for the final evaluation")
    split_by: Literal["premise", "row"] = Field(default="premise", description="keep all rows of "
                                                "one premise in the same split (no leakage)")
    explanation_source: Literal["human", "palm", "both"] = "human"
    multi_teacher: Literal["all", "sample", "gold_match", "majority"] = Field(
        default="all", description="with several explanation sources: one target each, one drawn, "
                                   "label-matching only, or those agreeing with the teachers' "
                                   "majority label")
    skip_invalid: bool = Field(default=False, description="skip and count bad rows instead of failing")


class ModelConfig(Section):
    name: str = Field(default="smollm2-135m-instruct", description="alias, local folder or Hub id")
    kind: Literal["auto", "causal", "seq2seq"] = "auto"
    trust_remote_code: bool = False
    attention: Literal["auto", "sdpa", "eager"] = "auto"  # training kernel: training/attention.py
    label_head: Literal["none", "encoder"] = "none"  # encoder: a classifier on the encoder's states


class FinetuneConfig(Section):
    mode: Literal["lora", "full", "frozen_encoder"] = "lora"
    r: int = Field(default=16, ge=1)
    alpha: int = Field(default=32, ge=1)
    dropout: float = Field(default=0.05, ge=0.0, lt=1.0)
    target_modules: list[str] | Literal["all-linear"] = "all-linear"


class LossConfig(Section):
    alpha: float = Field(default=1.0, ge=0.0, description="weight of the label loss")
    beta: float = Field(default=1.0, ge=0.0, description="weight of the explanation loss")
    output_order: Literal["predict_explain", "explain_predict"] = "predict_explain"
    task_prefix: bool = False  # step-by-step (Hsieh et al. 2023): [label] and [rationale] as two tasks
    label_softmax: Literal["vocab", "labels"] = "vocab"  # labels: over the label words (docs/config.md)

    @model_validator(mode="after")
    def _not_both_zero(self) -> LossConfig:
        if self.alpha == 0 and self.beta == 0:
            raise ValueError("loss.alpha and loss.beta are both 0: nothing would be learned")
        return self


class TrainingConfig(Section):
    epochs: float = Field(default=1.0, gt=0)
    max_steps: int = Field(default=-1, description="overrides epochs when > 0")
    batch_size: int = Field(default=16, ge=1)
    eval_batch_size: int = Field(default=32, ge=1)
    grad_accum: int = Field(default=1, ge=1)
    lr: float = Field(default=3e-4, gt=0)
    weight_decay: float = Field(default=0.0, ge=0)
    warmup_ratio: float = Field(default=0.03, ge=0, lt=1)
    max_grad_norm: float = Field(default=1.0, gt=0)
    lr_scheduler: Literal["linear", "cosine", "constant_with_warmup"] = "linear"
    precision: Literal["auto", "fp32", "bf16", "fp16"] = "auto"  # auto: training/precision.py
    max_source_tokens: int = Field(default=160, ge=8)
    max_target_tokens: int = Field(default=64, ge=4)
    logging_steps: int = Field(default=10, ge=1)
    eval_steps: int | None = Field(default=None, ge=1, description="null: evaluate once per epoch")
    save_steps: int = Field(default=50, ge=1)
    save_total_limit: int = Field(default=2, ge=1)
    metric_for_best: Literal["eval_loss", "eval_label_accuracy"] = "eval_label_accuracy"
    early_stopping_patience: int | None = Field(default=None, ge=1)
    group_by_length: bool = True
    sparse_lm_head: bool = Field(default=True, description="decoder-only: LM head only on "
                                 "positions that carry a target")
    num_threads: typing.Annotated[int, Field(ge=1)] | Literal["auto"] | None = "auto"  # threads.py


class GenerationConfig(Section):
    max_new_tokens: int = Field(default=48, ge=1)
    num_beams: int = Field(default=1, ge=1)
    repetition_penalty: float = Field(default=1.0, gt=0)
    length_penalty: float = 1.0
    batch_size: int = Field(default=32, ge=1)
    # fp32 by default: bf16 weights predict faster but flip near-tie labels (docs/benchmarks.md).
    precision: Literal["auto", "fp32", "bf16"] = "fp32"


class EvaluationConfig(Section):
    bertscore: bool = True
    bertscore_model: str | None = Field(default=None, description="null: local all-MiniLM-L6-v2")
    bertscore_layer: int | None = None
    limit: int | None = Field(default=None, ge=1)
    ece_bins: int = Field(default=15, ge=1, description="equal-width calibration bins")
    judge: bool = Field(default=True, description="simulatability judge: faithfulness, LAS")
    explanations: bool = Field(default=True, description="false: score the labels only; no explanation "
                               "is generated, explanation metrics and the judge are absent")
    judge_model: str = Field(default="minilm-l6", description="encoder fine-tuned as the judge")
    judge_epochs: float = Field(default=2.0, gt=0)
    judge_max_train_rows: int | None = Field(default=None, ge=10)


class TrackingConfig(Section):
    tensorboard: bool = Field(default=True, description="event files in RUN/tensorboard")
    wandb: bool = Field(default=False, description="Weights & Biases (pip install 'rdistill[wandb]')")
    wandb_project: str = "rdistill"
    # Offline by default: a run must never need the network or an API key unless asked to.
    wandb_mode: Literal["offline", "online"] = "offline"
    wandb_dir: str | None = Field(default=None, description="null: the run folder (RUN/wandb/)")


# A sweep variant's name becomes a folder name: keep it to characters every shell and OS accept.
VARIANT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


class SweepConfig(Section):
    """A family of runs: ``variants`` (named override sets) times the cartesian ``grid``."""

    name: str | None = Field(default=None, description="sweep folder sweeps/<name>; null: the config's name")
    grid: dict[str, list[Any]] = Field(default_factory=dict, description="key -> values, every combination")
    variants: dict[str, dict[str, Any]] = Field(default_factory=dict, description="name -> {key: value}: "
                                                "runs that a grid cannot express")

    # The keys a grid may name depend on the recipe schema (methods add their sections):
    # validate_recipe passes them as the validation context.
    @field_validator("grid")
    @classmethod
    def _grid_keys_and_values(cls, grid: dict[str, list[Any]], info: ValidationInfo) -> dict[str, list[Any]]:
        keys = (info.context or {}).get("config_keys")
        problems = [sweep_key_problem(key, keys) for key in grid]
        problems += [f"'{key}' has no values" for key, values in grid.items() if not values]
        if any(problems):
            raise ValueError("; ".join(p for p in problems if p))
        return grid

    @field_validator("variants")
    @classmethod
    def _variant_names_and_keys(cls, variants: dict[str, dict[str, Any]],
                                info: ValidationInfo) -> dict[str, dict[str, Any]]:
        keys = (info.context or {}).get("config_keys")
        problems = [f"variant name '{name}' may only hold letters, digits, '.', '_' and '-'"
                    for name in variants if not VARIANT_NAME.match(name)]
        problems += [f"variant '{name}': {sweep_key_problem(key, keys)}" for name, overrides in variants.items()
                     for key in overrides if sweep_key_problem(key, keys)]
        if problems:
            raise ValueError("; ".join(problems))
        return variants


class RunConfig(Section):
    name: str = "run"
    seed: int = 42
    method: str = Field(default="rationale", description="what the recipe trains: a method of "
                        "rdistill.methods.METHODS (rationale, latent, ...)")
    data: DataConfig
    model: ModelConfig = Field(default_factory=ModelConfig)
    finetune: FinetuneConfig = Field(default_factory=FinetuneConfig)
    loss: LossConfig = Field(default_factory=LossConfig)
    training: TrainingConfig = Field(default_factory=TrainingConfig)
    generation: GenerationConfig = Field(default_factory=GenerationConfig)
    evaluation: EvaluationConfig = Field(default_factory=EvaluationConfig)
    tracking: TrackingConfig = Field(default_factory=TrackingConfig)
    sweep: SweepConfig | None = Field(default=None, description="only read by `rdistill sweep`")

    @field_validator("name")
    @classmethod
    def _name_stays_under_runs(cls, name: str) -> str:
        # The default run folder is runs/<name>: a name must not climb out of it or be absolute.
        if name.startswith(("/", "~")) or any(p in ("", ".", "..") for p in name.replace("\\", "/").split("/")):
            raise ValueError(f"'{name}' cannot name a run folder under runs/: use letters, digits, '-', '_', "
                             "'.' (and '/' between sweep and variant names), no '..' and no absolute path")
        return name

    @model_validator(mode="before")
    @classmethod
    def _renamed_keys(cls, raw: Any) -> Any:
        # Run folders written before `method:` existed name their method by their section.
        if isinstance(raw, dict) and "method" not in raw and raw.get("latent") is not None:
            raw = {**raw, "method": "latent"}
        # training.tensorboard moved to tracking.tensorboard; run folders written before the
        # move still hold the old key in config.yaml and must stay loadable.
        training = raw.get("training") if isinstance(raw, dict) else None
        if not isinstance(training, dict) or "tensorboard" not in training:
            return raw
        raw = {**raw, "training": {k: v for k, v in training.items() if k != "tensorboard"}}
        tracking = raw.get("tracking", {})
        if isinstance(tracking, dict):  # anything else is reported by validation as it is
            raw["tracking"] = {"tensorboard": training["tensorboard"], **tracking}
        log.info("config: training.tensorboard is read as tracking.tensorboard (renamed)")
        return raw

    @model_validator(mode="after")
    def _cross_checks(self) -> RunConfig:
        if self.loss.alpha == 0 and self.training.metric_for_best == "eval_label_accuracy":
            raise ValueError(
                "loss.alpha is 0 (the label is not trained) but training.metric_for_best is "
                "eval_label_accuracy; set training.metric_for_best=eval_loss"
            )
        if self.data.explanation_source != "human" and not self.data.teacher_files:
            raise ValueError(
                f"data.explanation_source is '{self.data.explanation_source}' but "
                "data.teacher_files is empty: list the teacher rationale files"
            )
        if (not self.evaluation.explanations and self.loss.output_order == "explain_predict"
                and self.loss.beta > 0 and not self.loss.task_prefix):
            raise ValueError("evaluation.explanations is false but loss.output_order is explain_predict: "
                             "the label is read after the generated explanation; keep explanations true")
        # Plain paths together form the one teacher "palm"; each entry is a teacher of its own.
        names = (["palm"] if any(isinstance(t, str) for t in self.data.teacher_files) else []) + [
            t.name for t in self.data.teacher_files if isinstance(t, TeacherSource)]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"data.teacher_files: teacher name(s) {', '.join(repeated)} used more "
                             "than once; plain paths form the teacher 'palm', every entry needs its own name")
        return self


def config_keys(model_cls: type[BaseModel] | None = None, prefix: str = "") -> list[str]:
    """Every settable leaf key of a run, dotted (``loss.alpha``), in schema order; no ``sweep.*``."""
    out = []
    top = model_cls is None or (isinstance(model_cls, type) and issubclass(model_cls, RunConfig))
    for name, field in (model_cls or RunConfig).model_fields.items():
        ann = field.annotation
        if top and name == "sweep":
            continue
        # An optional section (``latent: LatentConfig | None``) has keys like any other.
        ann = next((a for a in typing.get_args(ann) if isinstance(a, type) and issubclass(a, BaseModel)), ann)
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            out += config_keys(ann, f"{prefix}{name}.")
        else:
            out.append(f"{prefix}{name}")
    return out


def sweep_key_problem(key: str, keys: list[str] | None = None) -> str | None:
    """Why ``key`` cannot be swept, or None when it can (``keys``: the schema's, default RunConfig's)."""
    if key == "name":
        return "'name' cannot be swept: each variant gets its own name"
    keys = config_keys() if keys is None else keys
    if key in keys:
        return None
    close = difflib.get_close_matches(key, keys, n=1)
    return f"'{key}' is not a config key" + (f" (did you mean {close[0]}?)" if close else "")


def parse_override(text: str) -> tuple[list[str], Any]:
    """Split ``key.sub=value``; the value is parsed as YAML so ``1e-4``, ``true``, ``[a,b]`` work."""
    if "=" not in text:
        raise ConfigError(f"override '{text}' is not of the form key.sub=value")
    key, raw = text.split("=", 1)
    parts = [p for p in key.strip().split(".") if p]
    if not parts:
        raise ConfigError(f"override '{text}' has an empty key")
    try:
        return parts, yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError as e:
        raise ConfigError(f"override '{text}': the value is not valid YAML ({e.problem})") from None


def set_key(raw: dict[str, Any], parts: list[str], value: Any, what: str) -> None:
    """``raw[p0][p1]... = value``, creating sections; ``what`` names the override in errors."""
    node = raw
    for part in parts[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise ConfigError(f"override '{what}': '{part}' is a value, not a section")
        node = child
    node[parts[-1]] = value


def apply_overrides(raw: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    for text in overrides:
        parts, value = parse_override(text)
        set_key(raw, parts, value, text)
    return raw


def read_config_file(path: str | Path) -> Any:
    """The parsed YAML of a recipe, unvalidated (``load_config`` validates it)."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"config file '{p}' " + ("is a folder, not a YAML file" if p.is_dir() else "does not exist"))
    if (raw := read_yaml(p, ConfigError)) is None:  # an empty file, or comments only
        raise ConfigError(f"config file '{p}' is empty: a recipe needs at least its data: section")
    return raw


def validate_recipe(schema: type[ModelT], path: str | Path | None, overrides: list[str] | None = None,
                    raw: dict[str, Any] | None = None) -> ModelT:
    """Read a YAML recipe (or ``raw`` dict), apply ``key=value`` overrides, validate against
    ``schema``; every problem is reported at once, naming the file and the key."""
    origin = str(path) if path else "<config>"
    if raw is None:
        if path is None:
            raise ConfigError("no config file given")
        raw = read_config_file(path)
    if not isinstance(raw, dict):
        raise ConfigError(f"{origin}: the top level must be a mapping of sections")
    raw = apply_overrides(copy.deepcopy(raw), overrides or [])
    try:
        return schema.model_validate(raw, context={"config_keys": config_keys(schema)})
    except ValidationError as e:
        raise ConfigError(format_validation_errors(origin, e)) from None


def load_config(path: str | Path | None, overrides: list[str] | None = None,
                raw: dict[str, Any] | None = None, schema: type[RunConfig] | None = None) -> RunConfig:
    """Read a YAML recipe (or ``raw`` dict), apply ``key=value`` overrides, validate against ``schema``
    (default :class:`RunConfig`; :mod:`rdistill.methods` adds the methods' sections)."""
    cfg = validate_recipe(schema or RunConfig, path, overrides, raw)
    if cfg.training.precision == "fp16" and "t5" in cfg.model.name.lower():
        raise ConfigError(f"{path or '<config>'}: training.precision=fp16 with a T5 model overflows "
                          "(NaN losses); use bf16 or fp32")
    return cfg


def dump_config(cfg: RunConfig) -> str:
    """The resolved config of one run as YAML; a ``sweep:`` block describes many runs, not this one."""
    return yaml.safe_dump(cfg.model_dump(mode="json", exclude={"sweep"}), sort_keys=False)


def config_hash(cfg: RunConfig) -> str:
    """sha256 of the resolved config YAML: equal hashes, equal runs (up to nondeterminism)."""
    return hashlib.sha256(dump_config(cfg).encode("utf-8")).hexdigest()


def flatten(d: dict, prefix: str = "") -> dict[str, Any]:
    """``{"a": {"b": 1}}`` -> ``{"a.b": 1}``."""
    out: dict[str, Any] = {}
    for k, v in d.items():
        out.update(flatten(v, f"{prefix}{k}.") if isinstance(v, dict) else {f"{prefix}{k}": v})
    return out


def config_diff(old: RunConfig, new: RunConfig) -> dict[str, tuple[Any, Any]]:
    """``key -> (old value, new value)`` for every run setting that differs (``sweep`` ignored)."""
    a = flatten(old.model_dump(mode="json", exclude={"sweep"}))
    b = flatten(new.model_dump(mode="json", exclude={"sweep"}))
    return {k: (a.get(k), b.get(k)) for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)}
