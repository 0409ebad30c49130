"""Corpus BLEU of generated explanations, following the published e-SNLI protocol.

Camburu et al. (2018, e-SNLI) score generated explanations with corpus-level
BLEU against the first two human explanations of each dev/test pair (the third
is kept to measure human agreement); WT5 (Narang et al. 2020) follows them. We
use sacrebleu's ``corpus_bleu`` defaults (13a tokenisation, mixed case,
exponential smoothing, closest reference length) and record its signature.
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Sequence

from sacrebleu.metrics import BLEU

# e-SNLI dev/test rows have three explanations; the protocol scores against two.
N_REFERENCES = 2


def corpus_bleu(predictions: Sequence[str], references: Sequence[Sequence[str]]) -> dict:
    """Corpus BLEU against the first two references of each example, as a fraction in [0, 1].

    Args:
        predictions: one generated explanation per example (blank scores as empty text).
        references: the human explanations of each example, in data order
            (e-SNLI: ``explanation_1``, ``explanation_2``, ``explanation_3``).

    The first two non-blank references form two reference streams. An example
    with a single reference gets ``None`` in the second stream, sacrebleu's
    convention for a variable number of references (equivalent to repeating the
    first: BLEU clips by the max count over references and uses the closest
    reference length); such examples are counted in the protocol. Examples with
    no reference are excluded, as sacrebleu cannot score them.

    Returns:
        ``{"bleu": score / 100 or None if no example was scored, "protocol":
        {"bleu_0_100": raw sacrebleu score, "signature": ..., ...}}``
    """
    if len(predictions) != len(references):
        raise ValueError(
            f"{len(predictions)} predictions but {len(references)} reference lists"
        )
    hypotheses: list[str] = []
    streams: list[list[str | None]] = [[] for _ in range(N_REFERENCES)]
    n_excluded = n_single = 0
    for prediction, refs in zip(predictions, references):
        usable = [ref for ref in refs if ref.strip()][:N_REFERENCES]
        if not usable:
            n_excluded += 1
            continue
        n_single += len(usable) == 1
        hypotheses.append(prediction)
        for stream, ref in zip(streams, usable + [None] * (N_REFERENCES - len(usable))):
            stream.append(ref)

    protocol: dict = {
        "implementation": "sacrebleu BLEU.corpus_score (the corpus_bleu defaults)",
        "references": "explanation_1, explanation_2 (first two non-blank references)",
        "tokenize": "13a",
        "sacrebleu_version": importlib.metadata.version("sacrebleu"),
        "score": "corpus BLEU / 100",
        "bleu_0_100": None,
        "signature": None,
        "n_scored": len(hypotheses),
        "n_single_reference": n_single,
        "single_reference": "second stream None (sacrebleu variable references)",
        "n_excluded_no_reference": n_excluded,
    }
    if not hypotheses:
        return {"bleu": None, "protocol": protocol}

    metric = BLEU(tokenize="13a")
    score = metric.corpus_score(hypotheses, streams)
    protocol["bleu_0_100"] = score.score
    protocol["signature"] = str(metric.get_signature())
    return {"bleu": score.score / 100, "protocol": protocol}
