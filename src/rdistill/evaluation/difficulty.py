"""Accuracy by difficulty bucket, under definitions stated in the metrics JSON.

Three views of difficulty, each only where its data exists:

- ``input_length``: words in the task input (all fields), split at the
  evaluated set's tertiles into short / medium / long. Longer inputs carry
  more content to reconcile.
- ``teacher``: whether the teacher's label matched gold (``teacher_right`` /
  ``teacher_wrong``): rows a 540B teacher gets wrong are hard or mislabelled.
- ``input_judge``: whether the input-only judge (a small classifier trained on
  the training rows, see ``simulatability.py``) already gets the gold label
  (``easy``) or not (``hard``), the usual "annotation artefact" split of NLI.
"""

from __future__ import annotations

from collections.abc import Sequence


def accuracy_by_bucket(correct: Sequence[bool], buckets: Sequence[str | None]) -> dict:
    """``{bucket: {"n", "accuracy"}}`` in first-seen order; rows whose bucket is None are left out."""
    if len(correct) != len(buckets):
        raise ValueError(f"{len(correct)} outcomes for {len(buckets)} bucket labels")
    counts: dict[str, list[int]] = {}
    for ok, bucket in zip(correct, buckets):
        if bucket is None:
            continue
        hits = counts.setdefault(bucket, [0, 0])
        hits[0] += bool(ok)
        hits[1] += 1
    return {bucket: {"n": n, "accuracy": hits / n} for bucket, (hits, n) in counts.items()}


def tertile_buckets(values: Sequence[float]) -> tuple[list[str], list[float]]:
    """(short/medium/long per value, the two cut points). Values <= the first cut are short.

    Cuts are the values at ranks n/3 and 2n/3 of the sorted list, so ties stay in one bucket.
    """
    if not values:
        return [], []
    ordered = sorted(values)
    n = len(ordered)
    cuts = [ordered[(n - 1) // 3], ordered[(2 * n - 1) // 3]]
    names = ["short" if v <= cuts[0] else "medium" if v <= cuts[1] else "long" for v in values]
    return names, cuts


def _words(record: dict, input_keys: Sequence[str]) -> int:
    return sum(len(str(record.get(key) or "").split()) for key in input_keys)


def difficulty(records: Sequence[dict], input_keys: Sequence[str],
               input_judge_labels: Sequence[str | None] | None = None) -> tuple[dict, dict]:
    """(difficulty block, protocol) for prediction records (``gold_label``, ``pred_label``,
    the input fields named by ``input_keys``, optional ``teacher_label``)."""
    correct = [r["pred_label"] is not None and r["pred_label"] == r["gold_label"] for r in records]
    lengths = [_words(r, input_keys) for r in records]
    names, cuts = tertile_buckets(lengths)
    block = {"input_length": accuracy_by_bucket(correct, names)}
    protocol = {"input_length": f"words in {'+'.join(input_keys)}; tertile cut points "
                                f"{cuts} of the evaluated rows: short <= {cuts[0] if cuts else None} "
                                f"< medium <= {cuts[1] if cuts else None} < long"}
    teacher = [None if r.get("teacher_label") is None
               else "teacher_right" if r["teacher_label"] == r["gold_label"] else "teacher_wrong"
               for r in records]
    if any(t is not None for t in teacher):
        block["teacher"] = accuracy_by_bucket(correct, teacher)
        protocol["teacher"] = "teacher label equal to gold or not; rows without a teacher label left out"
    if input_judge_labels is not None:
        judged = [None if j is None else "easy" if j == r["gold_label"] else "hard"
                  for j, r in zip(input_judge_labels, records)]
        block["input_judge"] = accuracy_by_bucket(correct, judged)
        protocol["input_judge"] = ("easy: the input-only judge (no explanation) predicts the gold "
                                   "label; hard: it does not")
    return block, protocol
