"""``RationaleTrainer``: a ``transformers.Trainer`` whose loss is ``a*L_label + b*L_explanation``.

Only ``compute_loss`` (and a dev-set label accuracy added to evaluation) is
ours; checkpointing, resuming, accumulation, logging, early stopping and
distribution are the Trainer's.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any, Callable

import torch
from transformers import Trainer

from rdistill.formatting import SPAN_EXPLANATION, SPAN_LABEL
from rdistill.losses import IGNORE_INDEX, rationale_loss, token_cross_entropy
from rdistill.models.heads import causal_hidden, lm_head


def sparse_causal_token_losses(model, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                               labels: torch.Tensor) -> torch.Tensor:
    """Per-token CE ``(B, T)`` of a decoder-only model, LM head applied only where a target is.

    The prompt makes up most of each row and needs no logits: running the
    49k-way head on target positions alone saves most of its FLOPs and the
    ``(B, T, V)`` logits tensor. Position ``t``'s hidden state predicts
    ``labels[:, t + 1]``, so the result is aligned with ``labels`` (0 at column 0).
    """
    hidden = causal_hidden(model, input_ids, attention_mask)
    targets = labels[:, 1:]
    where = targets != IGNORE_INDEX
    logits = lm_head(model, hidden[:, :-1][where])
    losses = torch.zeros_like(labels, dtype=torch.float32)
    losses[:, 1:][where] = token_cross_entropy(logits, targets[where])
    return losses


def dense_token_losses(model, batch: dict[str, torch.Tensor], is_seq2seq: bool) -> torch.Tensor:
    """Per-token CE ``(B, T)`` aligned with ``batch['labels']``, from full logits."""
    if is_seq2seq:
        out = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                    decoder_input_ids=batch["decoder_input_ids"],
                    decoder_attention_mask=batch["decoder_attention_mask"])
        return token_cross_entropy(out.logits, batch["labels"])
    out = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])
    losses = torch.zeros_like(batch["labels"], dtype=torch.float32)
    losses[:, 1:] = token_cross_entropy(out.logits[:, :-1], batch["labels"][:, 1:])
    return losses


class RationaleTrainer(Trainer):
    """Trainer for label + explanation distillation.

    Args:
        alpha, beta: weights of the label and explanation terms.
        is_seq2seq: encoder-decoder student (else decoder-only).
        sparse_lm_head: decoder-only students compute logits on target positions only.
        dev_label_accuracy: called at each evaluation; returns the dev label accuracy,
            logged as ``eval_label_accuracy`` (usable for early stopping / best model).
    """

    def __init__(self, *args, alpha: float, beta: float, is_seq2seq: bool,
                 sparse_lm_head: bool = True,
                 dev_label_accuracy: Callable[[Any], float] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.alpha, self.beta = alpha, beta
        self.is_seq2seq = is_seq2seq
        # The sparse path calls the inner model directly: right for LoRA (its layers sit inside),
        # wrong for prompt/prefix tuning, whose virtual tokens PeftModel.forward adds.
        prompt_learning = any(getattr(c, "is_prompt_learning", False)
                              for c in getattr(self.model, "peft_config", {}).values())
        # It also bypasses the DDP wrapper's forward (no gradient all-reduce), so it is
        # single-process only; distributed runs take the dense path.
        self.sparse_lm_head = (sparse_lm_head and not is_seq2seq and not prompt_learning
                               and self.accelerator.num_processes == 1)
        self.dev_label_accuracy = dev_label_accuracy
        # compute_loss returns a per-micro-batch mean, so the Trainer must divide by accumulation steps.
        self.loss_is_scaled_for_ga = False
        self._terms: dict[str, list[torch.Tensor]] = defaultdict(list)

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        if self.sparse_lm_head:
            # accelerate applies mixed precision to model.forward only; this path calls the inner
            # model, so it enters autocast itself.
            with self.accelerator.autocast():
                token_losses = sparse_causal_token_losses(model, inputs["input_ids"],
                                                          inputs["attention_mask"], inputs["labels"])
        else:
            token_losses = dense_token_losses(model, inputs, self.is_seq2seq)
        spans = inputs["span_ids"]
        loss, label_loss, expl_loss = rationale_loss(token_losses, spans, alpha=self.alpha, beta=self.beta)
        # Logged terms are token means over all batches since the last log: a batch without
        # one span (step-by-step rows, gold_match) must not pull that term towards 0.
        prefix = "train" if model.training else "eval"
        with torch.no_grad():
            for name, span in (("loss_label", SPAN_LABEL), ("loss_expl", SPAN_EXPLANATION)):
                mask = spans == span
                self._terms[f"{prefix}_{name}"].append(
                    torch.stack([(token_losses * mask).sum(), mask.sum().float()]))
        return (loss, {"label_loss": label_loss, "explanation_loss": expl_loss}) if return_outputs else loss

    def prediction_step(self, model, inputs, prediction_loss_only, ignore_keys=None):
        with torch.no_grad():
            loss = self.compute_loss(model, inputs)
        return loss.detach(), None, None

    def log(self, logs: dict[str, float], *args, **kwargs) -> None:
        # Each loss term is logged on its own, averaged over the steps since the last log.
        prefix = "eval" if any(k.startswith("eval_") for k in logs) else "train"
        for key in [k for k in self._terms if k.startswith(prefix)]:
            total, count = torch.stack(self._terms.pop(key)).sum(0).tolist()
            name = key if prefix == "eval" else key[len("train_"):]
            if count:
                logs[name] = round(total / count, 4)
        super().log(logs, *args, **kwargs)

    def evaluation_loop(self, *args, **kwargs):
        output = super().evaluation_loop(*args, **kwargs)
        if self.dev_label_accuracy is not None:
            prefix = kwargs.get("metric_key_prefix", args[4] if len(args) > 4 else "eval")
            output.metrics[f"{prefix}_label_accuracy"] = self.dev_label_accuracy(self.model)
        return output
