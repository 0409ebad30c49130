"""Tracking: the tracking: config section, W&B offline runs in the run folder, summary.json."""

import hashlib
import json
import socket

import pytest

from rdistill.methods.registry import load_recipe
from rdistill.errors import ConfigError
from rdistill.training.run_folder import RunFolder
from rdistill.training.tracking import TrackingError, check_tracking, tracking_session
from rdistill.methods.rationale.pipeline import train

MINIMAL = {"data": {"train_file": "esnli/esnli_valid.json"}}


@pytest.fixture
def no_network(monkeypatch, tmp_path):
    """Refuse every in-process connection except loopback and Unix sockets (wandb's own service)."""
    real_connect = socket.socket.connect

    def guarded(sock, address):
        if sock.family == socket.AF_UNIX or (isinstance(address, tuple)
                                             and address[0] in ("127.0.0.1", "::1", "localhost")):
            return real_connect(sock, address)
        raise AssertionError(f"network access attempted: {address}")

    monkeypatch.setattr(socket.socket, "connect", guarded)
    # No key, and W&B's own settings/cache in a temp folder rather than the user's home.
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    for var in ("WANDB_CONFIG_DIR", "WANDB_CACHE_DIR", "WANDB_DATA_DIR"):
        monkeypatch.setenv(var, str(tmp_path / "wandb-home" / var.lower()))


def test_defaults_and_validation():
    cfg = load_recipe(None, raw=dict(MINIMAL))
    assert cfg.tracking.tensorboard is True and cfg.tracking.wandb is False
    assert cfg.tracking.wandb_mode == "offline"
    with pytest.raises(ConfigError) as e:
        load_recipe(None, ["tracking.wandb_mode=cloud", "tracking.mlflow=true"], raw=dict(MINIMAL))
    assert "tracking.wandb_mode" in str(e.value) and "'offline'" in str(e.value)
    assert "tracking.mlflow: unknown key" in str(e.value)


def test_old_training_tensorboard_key_still_loads():
    # Run folders written before the tracking: section hold training.tensorboard.
    cfg = load_recipe(None, ["training.tensorboard=false"], raw=dict(MINIMAL))
    assert cfg.tracking.tensorboard is False
    assert "tensorboard" not in cfg.training.model_dump()
    both = load_recipe(None, ["training.tensorboard=false", "tracking.tensorboard=true"], raw=dict(MINIMAL))
    assert both.tracking.tensorboard is True  # the new key wins


def test_wandb_requested_but_not_installed(monkeypatch):
    from rdistill.training import tracking

    real = tracking.importlib.util.find_spec
    monkeypatch.setattr(tracking.importlib.util, "find_spec",
                        lambda name, *a: None if name == "wandb" else real(name, *a))
    cfg = load_recipe(None, ["tracking.wandb=true"], raw=dict(MINIMAL))
    with pytest.raises(ConfigError, match=r"rdistill\[wandb\]"):
        check_tracking(cfg.tracking)


def test_wandb_start_failure_is_one_message_with_a_hint(monkeypatch, tmp_path):
    import wandb

    def refuse(**kwargs):
        raise wandb.errors.UsageError("api_key not configured (no-tty)")

    monkeypatch.setattr(wandb, "init", refuse)
    cfg = load_recipe(None, ["tracking.wandb=true", "tracking.wandb_mode=online",
                             "tracking.tensorboard=false"], raw=dict(MINIMAL))
    with (pytest.raises(TrackingError, match="wandb login.*offline"),
          tracking_session(cfg, RunFolder(tmp_path / "run"), quiet=True)):
        pass


def test_wandb_offline_run_in_run_folder_and_summary(tiny_causal_dir, esnli_file, tmp_path, toy_config,
                                                     no_network):
    pytest.importorskip("wandb")
    raw = toy_config(tiny_causal_dir, esnli_file, max_steps=4, logging_steps=2)
    raw["data"]["dev_size"] = 0
    raw["tracking"] = {"wandb": True, "wandb_project": "rdistill-test", "tensorboard": False}
    out = tmp_path / "run"
    metrics = train(load_recipe(None, raw=raw), out, show_progress=False)

    runs = list((out / "wandb").glob("offline-run-*"))
    assert len(runs) == 1, runs
    logs = list(runs[0].glob("run-*.wandb"))
    assert logs, list(runs[0].iterdir())
    data = logs[0].read_bytes()
    # WandbCallback logs train/<key> per log step; the held-out metrics go to the run summary.
    for key in (b"train/loss", b"train/loss_label", b"train/loss_expl", b"test/label_accuracy"):
        assert key in data, key
    assert b"rdistill-test" in data and b"config_hash" in data
    assert not (out / "tensorboard").exists()

    summary = json.loads((out / "summary.json").read_text())
    assert summary["config_hash"] == hashlib.sha256((out / "config.yaml").read_bytes()).hexdigest()
    assert summary["wall_seconds"] >= summary["train_seconds"] > 0
    for key in ("name", "global_step", "train_loss", "best_checkpoint", "best_metric", "eval"):
        assert key in summary
    assert summary["eval"]["label_accuracy"] == metrics["label_accuracy"]


def test_second_run_in_one_process_gets_its_own_wandb_run(tiny_causal_dir, esnli_file, tmp_path,
                                                          toy_config, no_network):
    # A sweep trains many runs in one process: each must finish its W&B run.
    wandb = pytest.importorskip("wandb")
    raw = toy_config(tiny_causal_dir, esnli_file, max_steps=1, logging_steps=1)
    raw["data"]["dev_size"] = 0
    raw["tracking"] = {"wandb": True, "tensorboard": False}
    for name in ("a", "b"):
        train(load_recipe(None, raw=raw), tmp_path / name, show_progress=False)
        assert wandb.run is None
    assert len(list((tmp_path / "a" / "wandb").glob("offline-run-*"))) == 1
    assert len(list((tmp_path / "b" / "wandb").glob("offline-run-*"))) == 1


def test_a_failing_run_still_finishes_its_wandb_run(tmp_path, no_network):
    # Otherwise the next variant of a sweep would log into the failed run.
    wandb = pytest.importorskip("wandb")
    cfg = load_recipe(None, ["tracking.wandb=true", "tracking.tensorboard=false"], raw=dict(MINIMAL))
    with (pytest.raises(RuntimeError, match="boom"),
          tracking_session(cfg, RunFolder(tmp_path / "run"), quiet=True) as trackers):
        assert trackers.wandb_run is not None and wandb.run is trackers.wandb_run
        raise RuntimeError("boom")
    assert wandb.run is None
    assert list((tmp_path / "run" / "wandb").glob("offline-run-*/run-*.wandb"))
