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
- **The target-only LM head** (:func:`sparse_causal_token_losses`): for decoder-only
  students, logits only where a target token is.
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
from rdistill.losses import IGNORE_INDEX, token_cross_entropy
from rdistill.models.heads import causal_hidden, lm_head
from rdistill.training.callbacks import MetricsLogCallback, QuietProgressCallback, StopOnNonFiniteLoss
from rdistill.training.sampling import EpochSeededLengthGroupedSampler


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


class DistillTrainer(Trainer):
    """Args (besides ``Trainer``'s):
        dev_metrics: called with the model at each evaluation; its ``{name: value}`` are
            logged as ``eval_<name>`` (e.g. ``eval_label_accuracy``, usable for early
            stopping and the best checkpoint).
    """

    # compute_loss returns a per-micro-batch mean, so the Trainer divides by accumulation steps.
    loss_is_scaled_for_ga = False
    # Set by trainers whose forward calls the inner model several times (continuous thoughts):
    # that bypasses DDP's forward and its gradient all-reduce, so several processes would diverge.
    single_process: str | None = None

    def __init__(self, *args, dev_metrics: Callable[[Any], dict[str, float]] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        if self.single_process and self.accelerator.num_processes > 1:
            raise ConfigError(f"{self.single_process} runs in one process; launch it without torchrun/accelerate")
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
        prefix = "eval" if any(k.startswith("eval_") for k in logs) else "train"
        for key in [k for k in self._terms if k.startswith(prefix)]:
            total, count = torch.stack(self._terms.pop(key)).sum(0).tolist()
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
