"""Who writes under several processes (``accelerate launch``, ``torchrun``): the main one.

Every rank trains; only the main process (global rank 0) creates the run folder and writes
its files (config, summaries, trackers, the saved student, evaluation); the others wait for
it at the points below. One process (no launcher) is the main process, and every helper
here is then a no-op, so single-process runs take no new path.

The launcher's environment (``WORLD_SIZE``, ``RANK``) is read directly, not through an
accelerate ``PartialState``: asking "am I the main process?" must not start the process
group before the Trainer does. The waits go through accelerate (``wait_for_everyone``).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

T = TypeVar("T")


def world_size() -> int:
    return int(os.environ.get("WORLD_SIZE", "1"))


def rank() -> int:
    return int(os.environ.get("RANK", "0"))


def is_main_process() -> bool:
    return rank() == 0


def _state():
    """accelerate's process state (it starts the process group on first use: gloo on CPU, NCCL on
    GPUs), made as ``TrainingArguments`` makes it, so that the Trainer finds it ready."""
    import torch
    from accelerate import PartialState

    return PartialState(cpu=not torch.cuda.is_available())


def wait_for_everyone() -> None:
    """A barrier over all ranks (nothing with one process)."""
    if world_size() > 1:
        _state().wait_for_everyone()


@contextmanager
def main_process_first() -> Iterator[None]:
    """The main process runs the block first (e.g. creates a folder), then the others."""
    if world_size() == 1:
        yield
        return
    with _state().main_process_first():
        yield


def on_main_process(fn: Callable[..., T], *args, **kwargs) -> T | None:
    """``fn(*args, **kwargs)`` on the main process only (None elsewhere); every rank returns once
    it is done, so what it wrote is there for all of them."""
    result = fn(*args, **kwargs) if is_main_process() else None
    wait_for_everyone()
    return result


def quiet_other_ranks() -> None:
    """Log lines from the main process only: the others keep warnings and errors."""
    if not is_main_process():
        logging.getLogger("rdistill").setLevel(logging.WARNING)


def main_process_says(question: Callable[[], T]) -> T:
    """``question()`` asked on the main process only, its answer broadcast to every rank."""
    if world_size() == 1:
        return question()
    from accelerate.utils import broadcast_object_list

    _state()
    answer = [question() if is_main_process() else None]
    broadcast_object_list(answer, from_process=0)
    return answer[0]


def gather_objects(obj: T) -> list[T]:
    """Every rank's ``obj`` (picklable), in rank order, on every rank (``[obj]`` with one process)."""
    if world_size() == 1:
        return [obj]
    from accelerate.utils import gather_object

    _state()
    return gather_object([obj])


def process_device():
    """This process's accelerator: ``cuda:<local rank>`` when there are GPUs, else the CPU."""
    import torch

    if torch.cuda.is_available():
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")) % torch.cuda.device_count())
    return torch.device("cpu")


def warn_if_fsdp_ignored(accelerator) -> bool:
    """An FSDP launch config (``ACCELERATE_USE_FSDP``) that accelerate did not apply: it shards with
    FSDP only on accelerators, so on CPU the ranks form a plain DDP (MULTI_CPU) group. Say so
    (True) rather than let the run pass for a sharded one."""
    if os.environ.get("ACCELERATE_USE_FSDP", "false").lower() != "true":
        return False
    kind = getattr(accelerator.distributed_type, "value", str(accelerator.distributed_type))
    if kind == "FSDP":
        return False
    logging.getLogger("rdistill.training").warning(
        "FSDP launch config, but accelerate runs this %s group as %s (FSDP only on GPUs): "
        "weights are not sharded", "CPU" if accelerator.device.type == "cpu" else accelerator.device.type, kind)
    return True
