"""``training.num_threads: auto``: one thread per core that others leave free."""

import pytest

from rdistill.training import threads
from rdistill.training.threads import _cpu_times, choose_threads


@pytest.fixture
def machine(monkeypatch):
    """A machine with ``cores`` allowed cores of which ``busy`` are used by other processes."""
    def set_machine(cores, busy):
        monkeypatch.setattr(threads, "allowed_cpus", lambda: list(range(cores)))
        monkeypatch.setattr(threads, "busy_cores", lambda cpus, sample_s=0.0: busy)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    return set_machine


@pytest.mark.parametrize(("cores", "busy", "expected"), [
    (2, 0.05, 2),   # idle machine: every core
    (2, 1.0, 1),    # a one-thread evaluation beside: the one free core
    (2, 0.4, 2),    # a light neighbour (less than half a core) does not cost a thread
    (2, 2.0, 1),    # both cores busy: still one thread, never zero
    (4, 1.6, 2),
    (1, 0.0, 1),    # taskset -c 0: one core allowed
])
def test_auto_takes_the_free_cores(machine, cores, busy, expected):
    machine(cores, busy)
    choice = choose_threads("auto")
    assert choice.threads == expected and choice.cores_allowed == cores


def test_omp_num_threads_caps_auto(machine, monkeypatch):
    machine(4, 0.0)
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert choose_threads("auto").threads == 1


def test_without_proc_stat_every_allowed_core(machine):
    machine(3, None)
    assert choose_threads("auto").threads == 3


@pytest.mark.parametrize("setting", [3, None])
def test_explicit_settings_pass_through_unsampled(machine, setting, monkeypatch):
    machine(2, 2.0)
    monkeypatch.setattr(threads, "busy_cores", lambda *a, **k: pytest.fail("sampled"))
    assert choose_threads(setting).threads == setting


def test_cpu_times_reads_per_cpu_lines_only():
    text = ("cpu  10 0 10 80 0 0 0 0 0 0\n"
            "cpu0 5 1 4 40 10 0 0 2 0 0\n"
            "cpu1 0 0 0 100 0 0 0 0 0 0\nintr 1 2 3\n")
    # busy = user + nice + system + irq + softirq + steal; idle + iowait are not busy.
    assert _cpu_times(text) == {0: (12, 62), 1: (0, 100)}


@pytest.mark.parametrize(("value", "ok"), [("auto", True), ("2", True), ("null", True), ("0", False),
                                           ("many", False)])
def test_num_threads_setting_is_validated(value, ok):
    from rdistill.errors import ConfigError
    from rdistill.methods.registry import load_recipe

    load = lambda: load_recipe(None, [f"training.num_threads={value}"], raw={"data": {"train_file": "x"}})  # noqa: E731
    if ok:
        assert load().training.num_threads == {"auto": "auto", "2": 2, "null": None}[value]
    else:
        with pytest.raises(ConfigError, match="num_threads"):
            load()


def test_defaults_are_auto():
    from rdistill.methods.registry import load_recipe

    t = load_recipe(None, raw={"data": {"train_file": "x"}}).training
    assert (t.num_threads, t.precision) == ("auto", "auto")
