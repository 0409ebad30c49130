"""``training.num_threads: auto``: as many torch threads as there are cores nobody else is using.

Why it matters (measured by ``bench/contention.py``): torch's intra-op threads work in
lock-step, every operator ending at a barrier. With 2 threads on 2 cores beside one
other busy thread (an evaluation, a second run), the scheduler time-slices one of the
two cores, and each of the thousands of operators in a step waits at its barrier for
the thread that was preempted: the step slows far more than the half core it lost.
One thread per *free* core has no such convoy. So the choice is made at run start from

- the cores this process may run on (``os.sched_getaffinity``: ``taskset`` is honoured),
- how busy each of them was over a short sample of ``/proc/stat`` (other processes'
  work, this one being idle then), a core counted busy when more than half used,
- ``OMP_NUM_THREADS``, when set, as a cap (the user's word wins).

Never fewer than one thread. Without ``/proc/stat`` (not Linux), every allowed core.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

log = logging.getLogger("rdistill.threads")

SAMPLE_S = 0.3
PROC_STAT = Path("/proc/stat")
# /proc/stat columns after the cpu name: user nice system idle iowait irq softirq steal ...
IDLE_COLUMNS = (3, 4)


@dataclass(frozen=True)
class ThreadChoice:
    setting: int | str | None  # the recipe's training.num_threads
    threads: int | None        # what torch gets (None: torch's own default, left alone)
    cores_allowed: int
    cores_busy: float | None   # other work on the allowed cores, in cores (None: not sampled)
    reason: str

    def as_json(self) -> dict:
        return asdict(self)


def allowed_cpus() -> list[int]:
    """The CPUs this process may run on (all of them where affinity is unknown)."""
    if hasattr(os, "sched_getaffinity"):
        return sorted(os.sched_getaffinity(0))
    return list(range(os.cpu_count() or 1))


def _cpu_times(text: str) -> dict[int, tuple[int, int]]:
    """``cpu index -> (busy jiffies, total jiffies)`` from the text of ``/proc/stat``."""
    out = {}
    for line in text.splitlines():
        name, *fields = line.split()
        if not (name.startswith("cpu") and name[3:].isdigit()):
            continue
        values = [int(v) for v in fields[:8]]
        idle = sum(values[i] for i in IDLE_COLUMNS)
        out[int(name[3:])] = (sum(values) - idle, sum(values))
    return out


def busy_cores(cpus: list[int], sample_s: float = SAMPLE_S) -> float | None:
    """Cores' worth of work other processes did on ``cpus`` over ``sample_s`` (this process
    sleeps meanwhile); None where ``/proc/stat`` does not exist."""
    if not PROC_STAT.is_file():
        return None
    before = _cpu_times(PROC_STAT.read_text())
    time.sleep(sample_s)
    after = _cpu_times(PROC_STAT.read_text())
    busy = 0.0
    for cpu in cpus:
        if cpu in before and cpu in after:
            d_busy, d_total = (a - b for a, b in zip(after[cpu], before[cpu]))
            busy += d_busy / d_total if d_total > 0 else 0.0
    return busy


def _omp_cap() -> int | None:
    value = os.environ.get("OMP_NUM_THREADS", "").split(",")[0].strip()
    return int(value) if value.isdigit() and int(value) > 0 else None


def choose_threads(setting: int | str | None, *, sample_s: float = SAMPLE_S) -> ThreadChoice:
    """The torch thread count for ``training.num_threads`` = ``setting``."""
    cpus = allowed_cpus()
    if setting != "auto":
        reason = "set in the recipe" if setting else "torch default"
        return ThreadChoice(setting, setting, len(cpus), None, reason)
    busy = busy_cores(cpus, sample_s)
    # A core more than half used by others is theirs: sharing it is what the barrier punishes.
    free = len(cpus) if busy is None else len(cpus) - int(busy + 0.5)
    threads = max(1, free)
    cap = _omp_cap()
    if cap is not None and cap < threads:
        threads = cap
    reason = (f"{len(cpus)} cores allowed, "
              + ("load not sampled" if busy is None else f"{busy:.2f} busy with other work")
              + (f", OMP_NUM_THREADS={cap}" if cap is not None else ""))
    log.info("threads auto -> %d (%s)", threads, reason)
    return ThreadChoice(setting, threads, len(cpus), None if busy is None else round(busy, 3), reason)
