"""``RationaleTrainer``: ``a*L_label + b*L_explanation`` on a ``DistillTrainer``.

Only ``compute_loss`` is ours; checkpointing, resuming, accumulation, logging, early
stopping and distribution are the Trainer's (and the base's, ``training.trainer``).
"""

from __future__ import annotations

import torch

from rdistill.errors import ConfigError
from rdistill.losses import (IGNORE_INDEX, label_classifier_loss, label_set_cross_entropy, rationale_loss,
                              span_mean)
from rdistill.models.label_head import load_label_head, save_label_head
from rdistill.tasks.layout import SPAN_EXPLANATION, SPAN_LABEL
from rdistill.training.student_forward import EncoderLabelSeq2Seq, TargetOnlyLM
from rdistill.training.trainer import DistillTrainer, dense_token_losses


class RationaleTrainer(DistillTrainer):
    """Trainer for label + explanation distillation.

    Args:
        alpha, beta: weights of the label and explanation terms.
        is_seq2seq: encoder-decoder student (else decoder-only).
        sparse_lm_head: decoder-only students compute logits on target positions only.
        label_ids: ``loss.label_softmax: labels``: the first-token id of each label (distinct);
            the label term is then a softmax over these at the label's first token (how
            prediction scores labels) instead of a token mean of full-vocabulary CE.
        label_head: ``model.label_head: encoder`` (an encoder-decoder student with its head
            attached): the label term is the head's cross-entropy (classes in ``label_ids``'
            order), the decoder's label tokens carry no loss.
    """

    dense_fallback = True

    def __init__(self, *args, alpha: float, beta: float, is_seq2seq: bool,
                 sparse_lm_head: bool = True, label_ids: list[int] | None = None, label_head: bool = False,
                 model=None, **kwargs):
        # The sparse path reaches inside the student: right for LoRA (its layers sit inside),
        # wrong for prompt/prefix tuning, whose virtual tokens PeftModel.forward adds.
        prompt_learning = any(getattr(c, "is_prompt_learning", False)
                              for c in getattr(model, "peft_config", {}).values())
        sparse = sparse_lm_head and not is_seq2seq and not prompt_learning
        if label_head and (not is_seq2seq or label_ids is None):
            raise ValueError("label_head needs an encoder-decoder student and the labels' label_ids")
        # TargetOnlyLM is the module accelerate wraps (DDP on several processes), so the sparse
        # path keeps its gradient all-reduce; under FSDP / DeepSpeed the base drops it (dense path).
        forward = EncoderLabelSeq2Seq if label_head else TargetOnlyLM if sparse else None
        super().__init__(*args, model=model, student_forward=forward, **kwargs)
        if label_head and self.forward_module is None:
            raise ConfigError("model.label_head: encoder trains under DDP or one process, not FSDP or "
                              "DeepSpeed: launch it with configs/accelerate/ddp-*.yaml")
        self.alpha, self.beta = alpha, beta
        self.is_seq2seq = is_seq2seq
        self.label_head = label_head
        self.label_ids = torch.tensor(label_ids) if label_ids is not None else None

    @property
    def sparse_lm_head(self) -> bool:
        return isinstance(self.forward_module, TargetOnlyLM)

    # The head goes in and out of checkpoints with the student (its own file: an adapter does not
    # hold it): saved with every checkpoint, loaded on resume and with the best checkpoint; a
    # checkpoint without it stops the run (ModelError naming the file), never a fresh head.
    def _save(self, output_dir: str | None = None, state_dict=None):
        super()._save(output_dir, state_dict)
        save_label_head(self.model, output_dir or self.args.output_dir)

    def _load_from_checkpoint(self, resume_from_checkpoint, model=None):
        super()._load_from_checkpoint(resume_from_checkpoint, model)
        if self.label_head:
            load_label_head(self.model, resume_from_checkpoint)

    def _load_best_model(self):
        super()._load_best_model()
        if self.label_head:
            load_label_head(self.model, self.state.best_model_checkpoint)

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        labels, spans = inputs["labels"], inputs["span_ids"]
        first = first_label_tokens(spans)
        if self.label_head:
            return self._head_loss(model, inputs, first, return_outputs)
        want_logits = self.label_ids is not None
        if self.sparse_lm_head:
            out = self.run_forward(model, input_ids=inputs["input_ids"],
                                   attention_mask=inputs["attention_mask"], labels=labels)
            token_losses = out["token_losses"]
            if want_logits:  # target_logits' rows: positions t with a target at t + 1, row-major
                where = labels[:, 1:] != IGNORE_INDEX
                pick = first[:, 1:][where]
                label_logits, gold = out["target_logits"][pick], labels[:, 1:][where][pick]
        elif want_logits:
            token_losses, logits = dense_token_losses(model, inputs, self.is_seq2seq, return_logits=True)
            if self.is_seq2seq:
                label_logits, gold = logits[first], labels[first]
            else:
                label_logits, gold = logits[:, :-1][first[:, 1:]], labels[:, 1:][first[:, 1:]]
        else:
            token_losses = dense_token_losses(model, inputs, self.is_seq2seq)
        if want_logits:
            label_loss = label_set_cross_entropy(label_logits, gold,
                                                 self.label_ids.to(label_logits.device))
            expl_loss = span_mean(token_losses, spans, SPAN_EXPLANATION)
            loss = self.alpha * label_loss + self.beta * expl_loss
            self.log_term(model, "loss_label", label_loss * len(gold), len(gold))  # a mean over rows
        else:
            loss, label_loss, expl_loss = rationale_loss(token_losses, spans, alpha=self.alpha, beta=self.beta)
        # Logged terms are token means over all batches since the last log: a batch without
        # one span (step-by-step rows, gold_match) must not pull that term towards 0.
        spans_logged = (("loss_expl", SPAN_EXPLANATION),) if want_logits else (
            ("loss_label", SPAN_LABEL), ("loss_expl", SPAN_EXPLANATION))
        for name, span in spans_logged:
            mask = spans == span
            self.log_term(model, name, (token_losses * mask).sum(), mask.sum())
        return (loss, {"label_loss": label_loss, "explanation_loss": expl_loss}) if return_outputs else loss

    def _head_loss(self, model, inputs, first: torch.Tensor, return_outputs: bool):
        """``alpha *`` the encoder head's label CE ``+ beta *`` the explanation's token mean."""
        labels, spans = inputs["labels"], inputs["span_ids"]
        out = self.run_forward(model, input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"],
                               decoder_input_ids=inputs["decoder_input_ids"],
                               decoder_attention_mask=inputs["decoder_attention_mask"], labels=labels)
        # One label span per row at most (step-by-step rationale rows have none): rows in order.
        has_label = first.any(dim=1)
        gold = labels[first]
        label_loss = label_classifier_loss(out["label_logits"][has_label], gold,
                                           self.label_ids.to(gold.device))
        expl_loss = span_mean(out["token_losses"], spans, SPAN_EXPLANATION)
        loss = self.alpha * label_loss + self.beta * expl_loss
        self.log_term(model, "loss_label", label_loss * len(gold), len(gold))
        mask = spans == SPAN_EXPLANATION
        self.log_term(model, "loss_expl", (out["token_losses"] * mask).sum(), mask.sum())
        return (loss, {"label_loss": label_loss, "explanation_loss": expl_loss}) if return_outputs else loss


def first_label_tokens(span_ids: torch.Tensor) -> torch.Tensor:
    """``(B, T)`` bool: the first token of each label span in ``span_ids`` ``(B, T)``."""
    is_label = span_ids == SPAN_LABEL
    after_label = torch.zeros_like(is_label)
    after_label[:, 1:] = is_label[:, :-1]
    return is_label & ~after_label
