"""The simulatability judge: a label classifier fine-tuned once on human explanations, cached.

Three views of each example, one classifier each (Hase et al. 2020):

- ``explanation``: the explanation alone. Maps a student's explanation to the
  label it argues for (faithfulness, error analysis, LAS leakage).
- ``input_explanation``: the task input and the explanation (LAS numerator).
- ``input``: the task input alone (LAS baseline; also a difficulty signal).

Each is a sequence classifier (default: the local all-MiniLM-L6-v2 encoder
with a fresh classification head) fine-tuned with ``transformers.Trainer`` on
the gold labels and the first human explanation of the run's *training* rows,
never on evaluated rows. A seeded share of those rows is held out; the judge's
accuracy there is its ceiling (``judge_ceiling`` for the explanation view).

Judges are cached under ``$RDISTILL_CACHE/judges/<key>/`` with a manifest
(model, view, labels, settings, data fingerprint, counts, held-out accuracy);
the key hashes all of those, and a manifest that disagrees with the request
stops with a clear message rather than silently reusing a wrong judge.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import shutil
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from rdistill.data.example import Example
from rdistill.errors import DataError, ModelError
from rdistill.io import write_json_atomic
from rdistill.models.cache import atomic_dir, cache_dir

log = logging.getLogger(__name__)

VIEWS = ("explanation", "input_explanation", "input")
DEFAULT_JUDGE_MODEL = "minilm-l6"
_MANIFEST = "judge.json"


@dataclass(frozen=True)
class JudgeSettings:
    model: str = DEFAULT_JUDGE_MODEL
    epochs: float = 2.0
    lr: float = 5e-5
    batch_size: int = 32
    max_tokens: int = 128
    holdout: float = 0.1
    max_train_rows: int | None = None
    seed: int = 42


def input_text(fields: dict[str, str]) -> str:
    """The task input as one string: ``name: value`` per field, in the example's order."""
    return " ".join(f"{name}: {value}" for name, value in fields.items())


def view_texts(view: str, fields: dict[str, str], explanation: str | None) -> tuple[str, str | None] | None:
    """(text, text pair) the judge of ``view`` reads, or None when the explanation it needs is missing."""
    if view == "input":
        return input_text(fields), None
    if explanation is None or not explanation.strip():
        return None
    if view == "explanation":
        return explanation.strip(), None
    if view == "input_explanation":
        return input_text(fields), explanation.strip()
    raise ValueError(f"unknown judge view {view!r}; expected one of {VIEWS}")


def _fingerprint(rows: Sequence[tuple[str, str, str]]) -> str:
    digest = hashlib.sha256()
    for uid, label, text in rows:
        digest.update(json.dumps([uid, label, text]).encode())
    return digest.hexdigest()


class Judge:
    """A fine-tuned classifier for one view; ``predict`` returns a label (or None) per item."""

    def __init__(self, model, tokenizer, labels: Sequence[str], view: str, manifest: dict,
                 max_tokens: int, batch_size: int = 64):
        self.model, self.tokenizer = model.eval(), tokenizer
        self.labels, self.view, self.manifest = tuple(labels), view, manifest
        self.max_tokens, self.batch_size = max_tokens, batch_size

    @property
    def heldout_accuracy(self) -> float:
        return self.manifest["heldout_accuracy"]

    def predict(self, fields: Sequence[dict[str, str]],
                explanations: Sequence[str | None] | None = None) -> list[str | None]:
        """Judged label per example; None where this view needs an explanation and has none."""
        if explanations is None:
            explanations = [None] * len(fields)
        pairs = [view_texts(self.view, f, e) for f, e in zip(fields, explanations)]
        todo = [i for i, p in enumerate(pairs) if p is not None]
        ids = _classify(self.model, self.tokenizer, [pairs[i] for i in todo], self.max_tokens,
                        self.batch_size)
        out: list[str | None] = [None] * len(pairs)
        for i, k in zip(todo, ids):
            out[i] = self.labels[k]
        return out


@torch.no_grad()
def _classify(model, tokenizer, pairs: Sequence[tuple[str, str | None]], max_tokens: int,
              batch_size: int) -> list[int]:
    """Predicted class id per (text, pair); length-sorted batches keep padding small."""
    model.eval()
    order = sorted(range(len(pairs)), key=lambda i: len(pairs[i][0]) + len(pairs[i][1] or ""))
    out = [0] * len(pairs)
    for start in range(0, len(order), batch_size):
        idx = order[start:start + batch_size]
        first = [pairs[i][0] for i in idx]
        # A view either always has a text pair or never does.
        second = [pairs[i][1] for i in idx] if pairs[idx[0]][1] is not None else None
        enc = tokenizer(first, second, truncation=True, max_length=max_tokens, padding=True,
                        return_tensors="pt").to(model.device)
        for i, k in zip(idx, model(**enc).logits.argmax(-1).tolist()):
            out[i] = k
    return out


def _training_rows(view: str, examples: Sequence[Example], labels: Sequence[str],
                   settings: JudgeSettings) -> tuple[list[tuple[str, str, str]], list, int]:
    """(fingerprint rows, (text, pair, label id) rows, n skipped) from the first human explanation."""
    label_id = {label: i for i, label in enumerate(labels)}
    rows, fp_rows, skipped = [], [], 0
    for ex in examples:
        expl = ex.explanations[0] if ex.explanations else None
        texts = view_texts(view, ex.fields, expl)
        if texts is None or ex.label not in label_id:
            skipped += 1
            continue
        rows.append((texts[0], texts[1], label_id[ex.label]))
        fp_rows.append((ex.uid, ex.label, f"{texts[0]}\t{texts[1] or ''}"))
    if settings.max_train_rows:
        rows, fp_rows = rows[: settings.max_train_rows], fp_rows[: settings.max_train_rows]
    return fp_rows, rows, skipped


def judge_key(view: str, labels: Sequence[str], settings: JudgeSettings, fingerprint: str) -> dict:
    """Everything that determines a judge; its hash names the cache folder."""
    from rdistill.models import resolve_model

    return {"view": view, "labels": list(labels), "model": settings.model,
            "model_path": str(resolve_model(settings.model)), "settings": asdict(settings),
            "data_fingerprint": fingerprint}


def load_or_train_judge(view: str, train_examples: Sequence[Example], labels: Sequence[str],
                        settings: JudgeSettings = JudgeSettings(), *, root: Path | None = None,
                        show_progress: bool = False) -> Judge:
    """The cached judge for (view, training rows, labels, settings), training it on a miss."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    fp_rows, rows, skipped = _training_rows(view, train_examples, labels, settings)
    if len(rows) < 10:
        raise DataError(f"the {view} judge needs at least 10 training rows with a human "
                        f"explanation and a known label; found {len(rows)}")
    key = judge_key(view, labels, settings, _fingerprint(fp_rows))
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:20]
    folder = (root or cache_dir() / "judges") / f"{view}-{digest}"
    manifest_path = folder / _MANIFEST
    if not manifest_path.is_file():
        with atomic_dir(folder) as tmp:
            manifest = _train(rows, labels, settings, key, tmp, show_progress)
            manifest["n_skipped_no_explanation"] = skipped
            write_json_atomic(tmp / _MANIFEST, manifest)
        log.info("trained the %s judge: held-out accuracy %.3f on %d rows", view,
                 manifest["heldout_accuracy"], manifest["n_heldout"])
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    if manifest.get("key") != key:
        raise ModelError(f"judge cache {folder} was built for another request (its {_MANIFEST} "
                         "disagrees); delete that folder to retrain it")
    model = AutoModelForSequenceClassification.from_pretrained(folder)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    return Judge(model, tokenizer, labels, view, manifest, settings.max_tokens)


def _train(rows: list, labels: Sequence[str], settings: JudgeSettings, key: dict, out: Path,
           show_progress: bool) -> dict:
    """Fine-tune on all but a seeded held-out share of ``rows``; save into ``out``; return the manifest."""
    from transformers import (AutoModelForSequenceClassification, AutoTokenizer,
                              DataCollatorWithPadding, Trainer, TrainingArguments, set_seed)

    set_seed(settings.seed)
    order = list(range(len(rows)))
    random.Random(settings.seed).shuffle(order)
    n_heldout = max(1, int(round(settings.holdout * len(rows))))
    heldout, train = [rows[i] for i in order[:n_heldout]], [rows[i] for i in order[n_heldout:]]

    path = key["model_path"]
    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModelForSequenceClassification.from_pretrained(
        path, num_labels=len(labels), id2label=dict(enumerate(labels)),
        label2id={label: i for i, label in enumerate(labels)})

    def encode(text: str, pair: str | None, label: int) -> dict:
        enc = tokenizer(text, pair, truncation=True, max_length=settings.max_tokens)
        return {**enc, "labels": label}

    args = TrainingArguments(
        output_dir=str(out / "trainer"), num_train_epochs=settings.epochs,
        per_device_train_batch_size=settings.batch_size, learning_rate=settings.lr,
        weight_decay=0.01, warmup_steps=0.06, lr_scheduler_type="linear", save_strategy="no",
        report_to=[], logging_strategy="no", seed=settings.seed, disable_tqdm=not show_progress,
        train_sampling_strategy="group_by_length", dataloader_pin_memory=False,
    )
    trainer = Trainer(model=model, args=args, train_dataset=[encode(*r) for r in train],
                      data_collator=DataCollatorWithPadding(tokenizer), processing_class=tokenizer)
    trainer.train()
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    predicted = _classify(model, tokenizer, [(r[0], r[1]) for r in heldout], settings.max_tokens, 64)
    correct = sum(p == r[2] for p, r in zip(predicted, heldout))
    shutil.rmtree(out / "trainer", ignore_errors=True)
    return {"key": key, "n_train": len(train), "n_heldout": len(heldout),
            "heldout_accuracy": correct / len(heldout)}


def judge_labels(records: Sequence[dict], examples: Sequence[Example],
                 train_examples: Sequence[Example], labels: Sequence[str],
                 settings: JudgeSettings = JudgeSettings(), *, show_progress: bool = False) -> dict:
    """The judge block ``evaluate_predictions(judge=...)`` takes, for prediction ``records``
    of ``examples`` (aligned), with judges trained on ``train_examples``."""
    if len(records) != len(examples):
        raise ValueError(f"{len(records)} records for {len(examples)} examples")
    judges = {view: load_or_train_judge(view, train_examples, labels, settings,
                                        show_progress=show_progress) for view in VIEWS}
    fields = [ex.fields for ex in examples]
    student = [record.get("pred_explanation") for record in records]
    human = [ex.explanations[0] if ex.explanations else None for ex in examples]
    manifests = {view: {k: judge.manifest[k] for k in ("n_train", "n_heldout", "heldout_accuracy")}
                 for view, judge in judges.items()}
    return {
        "explanation": judges["explanation"].predict(fields, student),
        "input_explanation": judges["input_explanation"].predict(fields, student),
        "input": judges["input"].predict(fields),
        "human_explanation": judges["explanation"].predict(fields, human),
        "ceiling": judges["explanation"].heldout_accuracy,
        "protocol": {
            "judge_model": settings.model,
            "trained_on": "gold label + first human explanation of the run's training rows "
                          "(never evaluated rows); a seeded held-out share gives each judge's "
                          "accuracy, the explanation judge's being judge_ceiling",
            "settings": asdict(settings),
            "judges": manifests,
            "faithfulness": "share of rows whose explanation alone the judge maps to the "
                            "student's predicted label",
            "human_faithfulness": "share of evaluated rows whose first human explanation the "
                                  "judge maps to the gold label",
            "las": "Hase et al. 2020: judge(input+explanation) minus judge(input) accuracy at "
                   "the student's label, per leaking / non-leaking group (leaking: the "
                   "explanation-only judge gives the student's label), averaged over the groups",
        },
    }
