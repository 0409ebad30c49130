"""``DistillTrainer``: the one ``transformers.Trainer`` base every method's trainer extends.

What it settles once, so that each method's trainer keeps only its ``compute_loss``:

- **Per-term logging.** ``compute_loss`` calls :meth:`DistillTrainer.log_term` with a
  term's sum and count as tensors; :meth:`log` turns them into one mean per term since
  the last log step. Nothing is moved to the host per step (no ``.item()``), so the
  terms cost no device synchronisation.
- **Loss-only evaluation.** ``prediction_step`` returns the loss alone: rdistill's dev
  metrics come from the method's predictor (``dev_metrics``), not from logits.
- **One gradient-accumulation contract.** ``compute_loss`` returns the mean over its
  micro-batch, and the Trainer divides it by the accumulation steps.
- **One module per training forward** (``training.student_forward``: the target-only LM
  head, the COCONUT passes): the module accelerate wraps, so several processes (DDP)
  all-reduce its gradients; one process calls it as is.
- **A non-finite loss stops the run** (``StopOnNonFiniteLoss``) with a message naming the
  step and the terms, instead of training on and writing NaN.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from transformers import Trainer
from transformers.trainer_callback import ProgressCallback
from transformers.trainer_pt_utils import LengthGroupedSampler

from rdistill.errors import ConfigError
from rdistill.losses import token_cross_entropy
from rdistill.training.callbacks import MetricsLogCallback, QuietProgressCallback, StopOnNonFiniteLoss
from rdistill.training.distributed import warn_if_fsdp_ignored
from rdistill.training.sampling import EpochSeededLengthGroupedSampler
from rdistill.training.student_forward import StudentForward


def dense_token_losses(model, batch: dict[str, torch.Tensor], is_seq2seq: bool,
                       return_logits: bool = False):
    """Per-token CE ``(B, T)`` aligned with ``batch['labels']``, from full logits.

    With ``return_logits``: ``(losses, logits)``, the model's ``(B, T, V)`` logits as they come
    (position ``t`` predicts ``labels[:, t]`` for an encoder-decoder, ``labels[:, t + 1]`` for a
    decoder-only model).
    """
    if is_seq2seq:
        out = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                    decoder_input_ids=batch["decoder_input_ids"],
                    decoder_attention_mask=batch["decoder_attention_mask"])
        losses = token_cross_entropy(out.logits, batch["labels"])
        return (losses, out.logits) if return_logits else losses
    out = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])
    losses = torch.zeros_like(batch["labels"], dtype=torch.float32)
    losses[:, 1:] = token_cross_entropy(out.logits[:, :-1], batch["labels"][:, 1:])
    return (losses, out.logits) if return_logits else losses


class DistillTrainer(Trainer):
    """Args (besides ``Trainer``'s):
        dev_metrics: called with the model at each evaluation; its ``{name: value}`` are
            logged as ``eval_<name>`` (e.g. ``eval_label_accuracy``, usable for early
            stopping and the best checkpoint).
    """

    # compute_loss returns a per-micro-batch mean, so the Trainer divides by accumulation steps.
    loss_is_scaled_for_ga = False

    def __init__(self, *args, dev_metrics: Callable[[Any], dict[str, float]] | None = None,
                 student_forward: type[StudentForward] | None = None, **kwargs):
        """``student_forward``: the module class whose forward is this trainer's training forward
        (:meth:`run_forward` calls it); None when ``compute_loss`` calls the model itself."""
        super().__init__(*args, **kwargs)
        warn_if_fsdp_ignored(self.accelerator)
        self.forward_module = student_forward(self.model) if student_forward is not None else None
        if self.forward_module is not None and (self.is_fsdp_enabled or self.is_deepspeed_enabled):
            # FSDP / ZeRO-3 gather parameters in their own wrapper's forward around the whole student;
            # a forward module around it would save under other keys. Those runs train the student's
            # own forward (``dense_token_losses``); a trainer that has no such fallback says so here.
            if not self.dense_fallback:
                raise ConfigError(f"{type(self).__name__} runs under DDP (or one process), not FSDP or "
                                  "DeepSpeed: launch it with configs/accelerate/ddp-*.yaml")
            self.forward_module = None
        self.model_accepts_loss_kwargs = False
        self.dev_metrics = dev_metrics
        self.add_callback(StopOnNonFiniteLoss)
        self._terms: dict[str, list[torch.Tensor]] = defaultdict(list)

    def _get_train_sampler(self, train_dataset=None):
        sampler = super()._get_train_sampler(train_dataset)
        if isinstance(sampler, LengthGroupedSampler):  # resumable: an order from seed + epoch
            sampler = EpochSeededLengthGroupedSampler(sampler.batch_size, train_dataset or self.train_dataset,
                                                      lengths=sampler.lengths,
                                                      seed=self.args.data_seed if self.args.data_seed is not None
                                                      else self.args.seed)
        return sampler

    # Whether compute_loss can do without forward_module (the student's plain forward, full logits).
    dense_fallback = False

    def _prepare_for_training(self, max_steps, train_dataloader, resume_from_checkpoint):
        # accelerate wraps what Trainer holds as its model: hand it the forward module (same
        # parameters, in the same order, so the optimizer and its checkpoints are unchanged),
        # then give the Trainer its student back for saving, evaluation and callbacks.
        if self.forward_module is None:
            return super()._prepare_for_training(max_steps, train_dataloader, resume_from_checkpoint)
        student = self.model
        self.model = self.model_wrapped = self.forward_module
        try:
            model, train_dataloader = super()._prepare_for_training(max_steps, train_dataloader,
                                                                    resume_from_checkpoint)
        finally:
            self.model = self.callback_handler.model = student
        return model, train_dataloader

    def run_forward(self, model, **inputs):
        """The forward module called through its DDP wrapper when ``model`` is that wrapper (training),
        directly otherwise (evaluation gets the bare student; no gradients there)."""
        runner = model if self.accelerator.unwrap_model(model) is self.forward_module else self.forward_module
        # accelerate applies mixed precision to the prepared forward only; evaluation needs it here.
        with self.accelerator.autocast():
            return runner(**inputs)

    def log_compactly(self, metrics_log: Path, *, show_progress: bool) -> None:
        """One compact line per log step (and ``metrics.jsonl``) instead of the Trainer's raw dicts;
        a bar with rate and ETA unless ``show_progress`` is off (``--quiet``)."""
        self.remove_callback(ProgressCallback)
        if show_progress:
            self.add_callback(QuietProgressCallback)
        self.add_callback(MetricsLogCallback(metrics_log))
        # The stop goes last, so that the line with the non-finite loss is in metrics.jsonl first.
        self.remove_callback(StopOnNonFiniteLoss)
        self.add_callback(StopOnNonFiniteLoss)

    def log_term(self, model, name: str, total: torch.Tensor, count: torch.Tensor | float = 1.0) -> None:
        """Add ``total`` over ``count`` items to term ``name`` (``train_``/``eval_`` by the model's mode).

        Terms are averaged over items since the last log: token means (pass a span's sum and
        token count) or step means (pass the step's mean and 1).
        """
        prefix = "train" if model.training else "eval"
        with torch.no_grad():
            count_t = torch.as_tensor(count, dtype=torch.float32, device=total.device)
            self._terms[f"{prefix}_{name}"].append(torch.stack([total.detach().float(), count_t]))

    def prediction_step(self, model, inputs, prediction_loss_only, ignore_keys=None):
        with torch.no_grad():
            loss = self.compute_loss(model, inputs)
        return loss.detach(), None, None

    def log(self, logs: dict[str, float], *args, **kwargs) -> None:
        # Each loss term is logged on its own, averaged over the steps since the last log;
        # the one host transfer per term happens here, at the logging cadence.
        # Under several processes the sums and counts are added over ranks (every rank logs at the
        # same steps), so a term is the mean over the global batch, as the Trainer's loss is.
        prefix = "eval" if any(k.startswith("eval_") for k in logs) else "train"
        keys = sorted(k for k in self._terms if k.startswith(prefix))
        if not keys:
            return super().log(logs, *args, **kwargs)
        sums = torch.stack([torch.stack(self._terms.pop(k)).sum(0) for k in keys])
        if self.accelerator.num_processes > 1:
            sums = self.accelerator.reduce(sums, reduction="sum")
        for key, (total, count) in zip(keys, sums.tolist()):
            name = key if prefix == "eval" else key[len("train_"):]
            if count:
                logs[name] = round(total / count, 6)
        super().log(logs, *args, **kwargs)

    def evaluation_loop(self, *args, **kwargs):
        output = super().evaluation_loop(*args, **kwargs)
        if self.dev_metrics is not None:
            prefix = kwargs.get("metric_key_prefix", args[4] if len(args) > 4 else "eval")
            for name, value in self.dev_metrics(self.model).items():
                output.metrics[f"{prefix}_{name}"] = value
        return output
