"""The one record type every loader returns and every later stage consumes."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class TeacherRationale:
    """A rationale written by a teacher (PaLM file, local LLM, HTTP endpoint).

    ``label`` is the teacher's own answer parsed from its output (``None`` when
    it could not be parsed): it lets us filter rationales whose label disagrees
    with gold and measure student-teacher agreement.
    """

    teacher: str
    text: str
    label: str | None


@dataclass(frozen=True)
class Example:
    """One task instance.

    ``fields`` holds the task inputs by name (e-SNLI: ``premise``, ``hypothesis``);
    ``label`` is the gold label as a word of the task's label set
    (e-SNLI: ``entailment``/``neutral``/``contradiction``); ``explanations`` are
    the human reference explanations (may be empty); ``rationales`` the teacher ones.
    ``steps`` are the reasoning steps in order, for tasks whose reasoning is a list
    (GSM8K calculator steps, a ProsQA path, multiplication partial products): a
    continuous-thought curriculum replaces them one by one. Empty when the
    reasoning is free text. ``source`` is "file:row" so that any later error can
    point back at the input.
    """

    uid: str
    fields: dict[str, str]
    label: str
    explanations: tuple[str, ...] = ()
    rationales: tuple[TeacherRationale, ...] = ()
    steps: tuple[str, ...] = ()
    source: str = ""
    meta: dict[str, str] = field(default_factory=dict)
