"""``LatentTrainer``: ``alpha * L_distill + (1 - alpha) * L_task`` on a LoRA (or full) student.

``L_task`` is the token-mean cross-entropy on the target (reasoning + answer).
``L_distill`` depends on ``mode``:

- ``latent``: hidden-state loss averaged over the layer pairs (losses.hidden_state_loss),
  student states projected to the teacher's size when they differ;
- ``logit_kd``: KL with temperature, full vocabulary (online teacher) or top-k + rest
  bucket (cache);
- ``sft``: none (``loss = L_task``), the baseline.

Teacher signals come from the batch (cached mode: the collator put them there) or from
a teacher held in memory (online mode), laid out by the same code either way. The dev
loss is ``L_task`` alone: teacher signals are cached for the training rows only.
"""

from __future__ import annotations

from pathlib import Path

import torch

from rdistill.methods.latent.batch import latent_batch, pooled
from rdistill.methods.latent.projection import PROJECTION_FILE, LayerProjection
from rdistill.methods.latent.teacher_signal import teacher_signals
from rdistill.losses import (
    IGNORE_INDEX,
    hidden_state_loss,
    kl_divergence_full,
    kl_divergence_topk,
)
from rdistill.training.student_forward import TargetOnlyLM
from rdistill.training.trainer import DistillTrainer


class LatentTrainer(DistillTrainer):
    """Args (besides ``DistillTrainer``'s):
        mode: ``latent`` | ``logit_kd`` | ``sft``.
        alpha: weight of the distillation term.
        layer_pairs: (teacher layer, student layer) pairs (``latent`` mode).
        projection: student->teacher size maps, or None when sizes match; optimised
            with the student (own param group) and saved as ``latent_projection.safetensors``.
        teacher: a model kept in memory (online mode) or None (cache).
        teacher_pad_token_id: pad id for the teacher's rows (online mode).
        hidden_loss, positions, token_alignment, temperature, kd_direction: see ``LatentConfig``.
    """

    # The student's forward, as the module accelerate wraps (DDP): hidden states and target logits.
    forward_class: type = TargetOnlyLM

    def __init__(self, *args, mode: str, alpha: float, layer_pairs: list[tuple[int, int]] | None = None,
                 projection: LayerProjection | None = None, teacher=None, teacher_pad_token_id: int = 0,
                 hidden_loss: str = "mse", positions: str = "target", token_alignment: str = "offsets",
                 temperature: float = 1.0, kd_direction: str = "forward", **kwargs):
        super().__init__(*args, student_forward=self.forward_class, **kwargs)
        self.mode, self.alpha = mode, alpha if mode != "sft" else 0.0
        self.layer_pairs = layer_pairs or []
        self.projection = projection.to(self.args.device) if projection is not None else None
        # The projection is optimised with the student but lives outside it: under several
        # processes accelerate wraps it in DDP too (its gradients all-reduced); saved unwrapped.
        self._project = self.projection
        if self.projection is not None and self.accelerator.num_processes > 1:
            self._project = self.accelerator.prepare_model(self.projection)
        self.teacher = teacher.to(self.args.device).eval() if teacher is not None else None
        self.teacher_pad_token_id = teacher_pad_token_id
        self.hidden_loss, self.positions, self.token_alignment = hidden_loss, positions, token_alignment
        self.temperature, self.kd_direction = temperature, kd_direction

    # ---- optimisation and saving of the projection (owned here, not by the model) ----
    # Its own param group: same learning rate and schedule, no weight decay; gradient
    # clipping takes the norm over the model's and the projection's gradients together.
    def create_optimizer(self, *args, **kwargs):
        optimizer = super().create_optimizer(*args, **kwargs)
        if self.projection is not None and not getattr(self, "_projection_in_optimizer", False):
            optimizer.add_param_group({"params": list(self.projection.parameters()), "weight_decay": 0.0})
            self._projection_in_optimizer = True
        return optimizer

    def _clip_grad_norm(self, model):
        if self.projection is None:
            return super()._clip_grad_norm(model)
        params = [*model.parameters(), *self.projection.parameters()]
        return self.accelerator.clip_grad_norm_(params, self.args.max_grad_norm)

    def _save(self, output_dir: str | None = None, state_dict=None):
        super()._save(output_dir, state_dict)
        if self.projection is not None:
            self.projection.save(output_dir or self.args.output_dir)

    def _load_from_checkpoint(self, resume_from_checkpoint, model=None):
        super()._load_from_checkpoint(resume_from_checkpoint, model)
        if self.projection is not None and (Path(resume_from_checkpoint) / PROJECTION_FILE).is_file():
            self.projection.load(resume_from_checkpoint)

    # ---- the loss ----
    def _online_signals(self, inputs: dict, width: int) -> dict[str, torch.Tensor]:
        teacher_layers = [t for t, _ in self.layer_pairs]
        items = teacher_signals(self.teacher, inputs["teacher_rows"], layers=teacher_layers or [0],
                                positions=self.positions, top_k=0, temperature=self.temperature,
                                pad_token_id=self.teacher_pad_token_id, full_logits=self.mode == "logit_kd")
        out = {}
        if self.mode == "latent":
            out = latent_batch(inputs["student_rows"], items, positions=self.positions,
                               token_alignment=self.token_alignment, width=width)
        if self.mode == "logit_kd":
            out["teacher_logits"] = torch.cat([it["logits"] for it in items])
        return {k: v.to(self.args.device) for k, v in out.items()}

    def _latent_loss(self, hidden_states, signals: dict, batch_size: int, width: int) -> torch.Tensor:
        student = torch.stack([hidden_states[s] for _, s in self.layer_pairs])  # (M, B, T, Hs)
        selected = student.flatten(1, 2)[:, signals["distill_index"]]  # (M, K, Hs)
        n_rows = len(signals["teacher_hidden"])
        if pooled(self.positions, self.token_alignment):
            sums = selected.new_zeros(selected.shape[0], n_rows, selected.shape[-1])
            sums = sums.index_add(1, signals["distill_row"], selected)
            counts = torch.bincount(signals["distill_row"], minlength=n_rows).clamp(min=1)
            selected = sums / counts[None, :, None].to(sums.dtype)
        if self.projection is not None:
            selected = self._project(selected)
        teacher = signals["teacher_hidden"].permute(1, 0, 2)  # (M, R, H)
        loss, _ = hidden_state_loss(selected, teacher, signals["teacher_mask"], kind=self.hidden_loss)
        return loss

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        input_ids, labels = inputs["input_ids"], inputs["labels"]
        width = input_ids.shape[1]
        # LM head only where a target is: the prompt needs no logits (training.student_forward).
        out = self.run_forward(model, input_ids=input_ids, attention_mask=inputs["attention_mask"],
                               labels=labels, output_hidden_states=self.mode == "latent")
        logits, where = out["target_logits"], labels[:, 1:] != IGNORE_INDEX
        task_loss = out["token_losses"][:, 1:][where].mean() if where.any() else logits.sum() * 0
        distill = torch.zeros((), device=task_loss.device)
        if self.mode != "sft" and model.training:
            signals = self._online_signals(inputs, width) if self.teacher is not None else inputs
            if self.mode == "latent":
                distill = self._latent_loss(out["hidden_states"], signals, input_ids.shape[0], width)
            elif "teacher_logits" in signals:
                distill = kl_divergence_full(logits, signals["teacher_logits"], self.temperature,
                                             self.kd_direction)
            else:
                distill = kl_divergence_topk(logits, signals["topk_logprobs"], signals["topk_ids"],
                                             self.temperature, self.kd_direction, signals["rest_logmass"])
        loss = self.alpha * distill + (1 - self.alpha) * task_loss if model.training else task_loss
        # Step means (each step's mean counts once), as every latent run has logged them.
        self.log_term(model, "loss_task", task_loss)
        if self.mode != "sft" and model.training:
            self.log_term(model, "loss_distill", distill)
        return (loss, {"task_loss": task_loss, "distill_loss": distill}) if return_outputs else loss
