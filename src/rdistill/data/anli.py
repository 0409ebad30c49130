"""Adversarial NLI (Nie et al. 2020): premise/hypothesis pairs written to fool NLI models.

The JSON-lines layout of "Distilling step-by-step" (``anli1/anli1_valid.json``):
``uid``, ``premise``, ``hypothesis``, ``label`` and ``reason``. The label encoding is
e-SNLI's (0 entailment, 1 neutral, 2 contradiction), checked against the PaLM answers
of the same rows. ``reason`` is the annotator's note on why the label holds (and often
on how the model was fooled); it is the human explanation. The Hub data set ``anli``
has the same fields, with splits ``train_r1``, ``dev_r1``, ``test_r1`` (and r2, r3).
"""

from __future__ import annotations

from pathlib import Path

from rdistill.data.esnli import LABELS, label_word
from rdistill.data.example import Example
from rdistill.data.load_result import LoadResult
from rdistill.data.json_rows import (
    RawRow,
    RowError,
    collect,
    optional_text,
    read_hub_rows,
    read_jsonl,
    require_file,
    short_repr,
    text_field,
)

_LABEL_HINT = "expected one of 0, 1, 2 or " + ", ".join(LABELS)


def anli_example(raw: RawRow) -> tuple[Example, None]:
    """One validated ANLI row; RowError names the bad field."""
    data = raw.data
    assert not isinstance(data, RowError)
    premise = text_field(data, "premise")
    hypothesis = text_field(data, "hypothesis")
    if "label" not in data:
        raise RowError("missing field: label", "missing field 'label'")
    try:
        label = label_word(data["label"])
    except ValueError:
        raise RowError("bad value: label",
                       f"field 'label' has value {short_repr(data['label'])}; {_LABEL_HINT}") from None
    uid = text_field(data, "uid")
    reason = optional_text(data, "reason")
    return Example(
        uid=uid,
        fields={"premise": premise, "hypothesis": hypothesis},
        label=label,
        explanations=(reason,) if reason else (),
        source=raw.source,
        meta={"row": str(raw.index)},
    ), None


def load_anli(path: str | Path, *, skip_invalid: bool = False) -> LoadResult:
    """Load an ANLI JSON-lines file; uids are the file's ``uid`` field.

    An invalid row raises DataError naming file, line and field, or with
    ``skip_invalid=True`` is skipped and counted in ``LoadResult.skipped``.
    """
    path = Path(path)
    return collect(read_jsonl(require_file(path, "ANLI"), what="ANLI"), anli_example,
                   skip_invalid=skip_invalid, what="ANLI")


def load_anli_hub(split: str, *, name: str = "anli", skip_invalid: bool = False) -> LoadResult:
    """Load ANLI ``split`` (e.g. ``dev_r1``) from the Hugging Face Hub (network or HF cache)."""
    return collect(read_hub_rows(name, split, "ANLI"), anli_example,
                   skip_invalid=skip_invalid, what="ANLI")
