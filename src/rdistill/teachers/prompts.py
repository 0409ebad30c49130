"""Few-shot chain-of-thought prompts from editable template files.

A template file (``prompts/<task>.txt``, or any file named in the config) has three
sections, each opened by a line ``### instruction``, ``### input``, ``### output``:

- ``instruction``: what the teacher is asked to do (the system message in chat mode);
- ``input``: the layout of one example's inputs, ``{field}`` placeholders naming
  ``Example.fields`` (e-SNLI: ``{premise}``, ``{hypothesis}``);
- ``output``: the layout of the answer, with ``{rationale}`` and ``{answer}``
  (and ``{answer_choice}``, ``(x) choice`` for multiple choice).

The few-shot examples are rows of the *training* split: their rationale is the first
human explanation, else a teacher rationale whose label matches gold. In chat mode the
shots are user/assistant turns; in completion mode everything is one text ending with
the output's cue (its text before ``{rationale}``, e.g. ``Reasonings:``).
"""

from __future__ import annotations

import random
import re
import string
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from rdistill.data.example import Example
from rdistill.errors import ConfigError, DataError
from rdistill.io import read_text

SECTIONS = ("instruction", "input", "output")
_HEADER = re.compile(r"^### *(\w+) *$", re.MULTILINE)


@dataclass(frozen=True)
class Template:
    instruction: str
    input: str
    output: str
    source: str

    @property
    def cue(self) -> str:
        """The output's text before ``{rationale}``: what a completion prompt ends with."""
        return self.output.split("{rationale}", 1)[0].rstrip()


@dataclass(frozen=True)
class Prompt:
    """One row's prompt in both forms; the backend sends the one it supports."""

    uid: str
    messages: tuple[dict[str, str], ...]
    text: str


def packaged_template_path(task: str) -> Path:
    return Path(str(resources.files("rdistill.teachers") / "prompts" / f"{task}.txt"))


def load_template(task: str, path: str | Path | None = None) -> Template:
    """Parse a template file (the packaged one of ``task`` when ``path`` is None)."""
    file = Path(path) if path is not None else packaged_template_path(task)
    if not file.is_file():
        raise ConfigError(f"prompt template {file} not found")
    text = read_text(file, ConfigError)
    parts = _HEADER.split(text)
    sections: dict[str, str] = {}
    for name, body in zip(parts[1::2], parts[2::2]):
        if name not in SECTIONS:
            raise ConfigError(f"{file}: unknown section '### {name}'; expected {', '.join(SECTIONS)}")
        sections[name] = body.strip("\n")
    missing = [s for s in SECTIONS if s not in sections]
    if missing:
        raise ConfigError(f"{file}: missing section(s) {', '.join('### ' + m for m in missing)}")
    if "{rationale}" not in sections["output"]:
        raise ConfigError(f"{file}: the ### output section must contain {{rationale}}")
    return Template(sections["instruction"].strip(), sections["input"], sections["output"], str(file))


def shot_rationale(example: Example) -> str | None:
    """A worked rationale for a shot: the human explanation, else a gold-matching teacher one."""
    if example.explanations:
        return example.explanations[0]
    gold = example.label.casefold()
    for r in example.rationales:
        if r.label is not None and r.label.casefold() == gold and r.text.strip():
            return r.text
    return None


def select_shots(train: Sequence[Example], k: int, seed: int) -> list[Example]:
    """``k + 1`` training rows with a rationale, drawn with ``seed`` (one spare, see ``shots_for``)."""
    if k == 0:
        return []
    eligible = [ex for ex in train if shot_rationale(ex)]
    if len(eligible) < k + 1:
        raise DataError(f"{k} few-shot examples asked but only {len(eligible)} training rows have a "
                        "rationale to show; lower prompt.shots")
    return random.Random(seed).sample(eligible, k + 1)


def shots_for(example: Example, pool: Sequence[Example], k: int) -> list[Example]:
    """The first ``k`` of ``pool`` that are not ``example`` itself (no row answers itself)."""
    return [s for s in pool if s.uid != example.uid][:k]


def _answer_choice(example: Example) -> str:
    """``(c) choice`` when the fields list the choices (one per line, optionally ``(x) `` prefixed)."""
    lines = [ln.strip() for ln in example.fields.get("choices", "").splitlines() if ln.strip()]
    texts = [re.sub(r"^\([a-zA-Z]\)\s*", "", ln) for ln in lines]
    for i, choice in enumerate(texts):
        if choice.casefold() == example.label.strip().casefold():
            return f"({string.ascii_lowercase[i]}) {choice}"
    return example.label


def _fill(layout: str, values: dict[str, str], where: str, source: str) -> str:
    try:
        return layout.format_map(values)
    except KeyError as err:
        raise DataError(f"{where}: template {source} needs field {err.args[0]!r}, which this row "
                        f"does not have (fields: {', '.join(sorted(values))})") from None


def render(template: Template, example: Example, shots: Sequence[Example]) -> Prompt:
    """The prompt asking the teacher about ``example`` after the worked ``shots``."""
    messages = [{"role": "system", "content": template.instruction}]
    blocks = [template.instruction]
    for shot in shots:
        values = {**shot.fields, "rationale": shot_rationale(shot) or "", "answer": shot.label,
                  "answer_choice": _answer_choice(shot)}
        where = shot.source or shot.uid
        shown_input = _fill(template.input, values, where, template.source)
        shown_output = _fill(template.output, values, where, template.source)
        messages += [{"role": "user", "content": shown_input},
                     {"role": "assistant", "content": shown_output}]
        blocks.append(f"{shown_input}\n{shown_output}")
    query = _fill(template.input, dict(example.fields), example.source or example.uid, template.source)
    messages.append({"role": "user", "content": query})
    blocks.append(f"{query}\n{template.cue}")
    return Prompt(uid=example.uid, messages=tuple(messages), text="\n\n".join(blocks))


def strip_cue(rationale: str, template: Template) -> str:
    """Chat answers repeat the cue (``Reasonings: ...``): drop it from the rationale."""
    cue = template.cue
    if cue and rationale.startswith(cue):
        return rationale[len(cue):].strip()
    return rationale
