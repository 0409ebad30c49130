"""Held-out evaluation of a latent run: answers, and how close its layers are to the teacher's.

1. The student's answers (:class:`rdistill.prediction.latent.LatentPredictor`): the text
   after the last ``Answer:`` it writes; none is invalid, counted as wrong. Math answers
   are normalised and compared numerically (:mod:`rdistill.data.answers`); labels
   case-insensitively.
2. With a teacher, both models read the gold ``prompt + target`` text (teacher
   forcing). Over every target token: the cosine similarity of each student layer to
   each teacher layer (the heat map; only when the hidden sizes match), and per
   distilled layer pair the cosine and the MSE of the (projected) student state
   against the teacher's. Teacher states are matched to student tokens by character
   offsets, so different tokenizers work too.

Layer ``l`` is the output of block ``l`` (1-based; ``hidden_states[l]``), as in extraction.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

from rdistill.data.example import Example
from rdistill.tasks.registry import get_task
from rdistill.evaluation.answer_eval import evaluate_answer_predictions
from rdistill.methods.latent.dataset import encode_examples
from rdistill.methods.latent.projection import LayerProjection
from rdistill.methods.latent.teacher_signal import teacher_signals
from rdistill.methods.latent.token_alignment import align_teacher

def answer_metrics(records: Sequence[dict], task: str) -> dict:
    """``answer_accuracy``, ``invalid_rate``, ``n`` (+ the math metrics for math tasks)."""
    spec = get_task(task)
    if spec.answer_kind is not None:
        return evaluate_answer_predictions(records, spec.answer_kind)
    hits = [r["pred_label"] is not None and r["pred_label"].casefold() == r["gold_label"].casefold()
            for r in records]
    n = len(records)
    categories = ["correct" if hit else "invalid" if r["pred_label"] is None else "wrong_answer"
                  for hit, r in zip(hits, records)]
    return {"answer_accuracy": sum(hits) / n if n else 0.0,
            "invalid_rate": categories.count("invalid") / n if n else 0.0, "n": n,
            "protocol": {"answer_accuracy": "label after the last 'Answer:' equals gold (case-insensitive); "
                                            "no answer counts as wrong"},
            "per_example": {"correct": hits, "error_category": categories}}


@torch.no_grad()
def layer_similarity(student, student_tokenizer, teacher, teacher_tokenizer, examples: Sequence[Example], *,
                     pairs: Sequence[tuple[int, int]], projection: LayerProjection | None,
                     max_prompt_tokens: int, max_target_tokens: int, batch_size: int = 8) -> dict:
    """Student vs teacher hidden states on the gold targets of ``examples`` (module docstring).

    Returns ``student_layers``, ``teacher_layers``, ``similarity`` (student x teacher mean
    cosine, or None when the hidden sizes differ), ``measure``, ``pairs`` (per distilled
    pair: ``teacher_layer``, ``student_layer``, ``cosine``, ``mse``) and ``tokens``.
    """
    encode = {"max_prompt_tokens": max_prompt_tokens, "max_target_tokens": max_target_tokens}
    s_rows = encode_examples(list(examples), student_tokenizer, **encode)
    t_rows = encode_examples(list(examples), teacher_tokenizer, **encode)
    s_depth, t_depth = student.config.num_hidden_layers, teacher.config.num_hidden_layers
    s_layers, t_layers = list(range(1, s_depth + 1)), list(range(1, t_depth + 1))
    grid = None
    pair_cos = torch.zeros(len(pairs), dtype=torch.float64)
    pair_mse = torch.zeros(len(pairs), dtype=torch.float64)
    tokens = 0
    for start in range(0, len(s_rows), batch_size):
        common = {"positions": "target", "top_k": 0, "temperature": 1.0}
        s_items = teacher_signals(student, s_rows[start:start + batch_size], layers=s_layers,
                                  pad_token_id=student_tokenizer.pad_token_id, **common)
        t_items = teacher_signals(teacher, t_rows[start:start + batch_size], layers=t_layers,
                                  pad_token_id=teacher_tokenizer.pad_token_id, **common)
        for s_item, t_item in zip(s_items, t_items):
            t_hidden, mask = align_teacher(s_item["offsets"], t_item["hidden"], t_item["offsets"])
            s_hidden, t_hidden = s_item["hidden"][mask].double(), t_hidden[mask].double()  # (n, Ls|Lt, H)
            if not len(s_hidden):
                continue
            tokens += len(s_hidden)
            if s_hidden.shape[-1] == t_hidden.shape[-1]:
                cos = torch.einsum("nih,njh->ij", F.normalize(s_hidden, dim=-1), F.normalize(t_hidden, dim=-1))
                grid = cos if grid is None else grid + cos
            for k, (t_layer, s_layer) in enumerate(pairs):
                s_state = s_hidden[:, s_layer - 1]
                if projection is not None:
                    s_state = projection.maps[k](s_state.float()).double()
                t_state = t_hidden[:, t_layer - 1]
                pair_cos[k] += F.cosine_similarity(s_state, t_state, dim=-1).sum()
                pair_mse[k] += (s_state - t_state).pow(2).mean(-1).sum()
    if not tokens:
        raise ValueError("layer similarity: no target token could be matched between student and teacher")
    return {
        "student_layers": s_layers, "teacher_layers": t_layers,
        "similarity": (grid / tokens).tolist() if grid is not None else None,
        "measure": "cosine", "tokens": tokens,
        "pairs": [{"teacher_layer": t, "student_layer": s, "cosine": float(pair_cos[k] / tokens),
                   "mse": float(pair_mse[k] / tokens)} for k, (t, s) in enumerate(pairs)],
    }
