"""``RationaleTrainer``: ``a*L_label + b*L_explanation`` on a ``DistillTrainer``.

Only ``compute_loss`` is ours; checkpointing, resuming, accumulation, logging, early
stopping and distribution are the Trainer's (and the base's, ``training.trainer``).
"""

from __future__ import annotations

from rdistill.losses import rationale_loss
from rdistill.tasks.layout import SPAN_EXPLANATION, SPAN_LABEL
from rdistill.training.student_forward import TargetOnlyLM
from rdistill.training.trainer import DistillTrainer, dense_token_losses


class RationaleTrainer(DistillTrainer):
    """Trainer for label + explanation distillation.

    Args:
        alpha, beta: weights of the label and explanation terms.
        is_seq2seq: encoder-decoder student (else decoder-only).
        sparse_lm_head: decoder-only students compute logits on target positions only.
    """

    dense_fallback = True

    def __init__(self, *args, alpha: float, beta: float, is_seq2seq: bool,
                 sparse_lm_head: bool = True, model=None, **kwargs):
        # The sparse path reaches inside the student: right for LoRA (its layers sit inside),
        # wrong for prompt/prefix tuning, whose virtual tokens PeftModel.forward adds.
        prompt_learning = any(getattr(c, "is_prompt_learning", False)
                              for c in getattr(model, "peft_config", {}).values())
        sparse = sparse_lm_head and not is_seq2seq and not prompt_learning
        # TargetOnlyLM is the module accelerate wraps (DDP on several processes), so the sparse
        # path keeps its gradient all-reduce; under FSDP / DeepSpeed the base drops it (dense path).
        super().__init__(*args, model=model, student_forward=TargetOnlyLM if sparse else None, **kwargs)
        self.alpha, self.beta = alpha, beta
        self.is_seq2seq = is_seq2seq

    @property
    def sparse_lm_head(self) -> bool:
        return self.forward_module is not None

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        if self.sparse_lm_head:
            token_losses = self.run_forward(model, input_ids=inputs["input_ids"],
                                            attention_mask=inputs["attention_mask"],
                                            labels=inputs["labels"])["token_losses"]
        else:
            token_losses = dense_token_losses(model, inputs, self.is_seq2seq)
        spans = inputs["span_ids"]
        loss, label_loss, expl_loss = rationale_loss(token_losses, spans, alpha=self.alpha, beta=self.beta)
        # Logged terms are token means over all batches since the last log: a batch without
        # one span (step-by-step rows, gold_match) must not pull that term towards 0.
        for name, span in (("loss_label", SPAN_LABEL), ("loss_expl", SPAN_EXPLANATION)):
            mask = spans == span
            self.log_term(model, name, (token_losses * mask).sum(), mask.sum())
        return (loss, {"label_loss": label_loss, "explanation_loss": expl_loss}) if return_outputs else loss
