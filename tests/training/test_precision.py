"""``training.precision: auto``: the probe's figures decide, explicit settings pass through."""

import json

import pytest
import torch

from rdistill.methods.registry import load_recipe
from rdistill.training import precision
from rdistill.training.arguments import training_arguments
from rdistill.training.precision import ProbeResult, probe_matmul, resolve_precision


def _cfg(model_dir, value="auto"):
    return load_recipe(None, raw={"data": {"train_file": "x"}, "model": {"name": str(model_dir)},
                                  "training": {"precision": value, "batch_size": 4}})


@pytest.fixture
def probe(monkeypatch):
    """Sets the figures the (mocked) probe reports; records the shapes it was asked for."""
    calls = []

    def set_figures(fp32, bf16):
        def fake(tokens, hidden, intermediate, **_):
            calls.append((tokens, hidden, intermediate))
            return ProbeResult(fp32_gflops=fp32, bf16_gflops=bf16, shapes=((tokens, hidden, intermediate),),
                               seconds=0.1)
        monkeypatch.setattr(precision, "probe_matmul", fake)
        return calls
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    return set_figures


def test_bf16_faster_chooses_bf16(probe, tiny_causal_dir, tmp_path):
    calls = probe(fp32=190.0, bf16=420.0)
    cfg = _cfg(tiny_causal_dir)
    choice = resolve_precision(cfg)
    assert choice.choice == "bf16" and choice.setting == "auto"
    assert choice.as_json()["probe"] == {"fp32_gflops": 190.0, "bf16_gflops": 420.0,
                                         "shapes": [list(calls[0])], "seconds": 0.1}
    # The tiny Llama's widths (hidden 32, feed-forward from its config) shape the probe.
    assert calls[0][1] == 32
    args = training_arguments(cfg, tmp_path, has_dev=False, group_by_length=False)
    assert args.bf16 and not args.fp16
    assert len(calls) == 1  # one probe per process and shape: system.json and the Trainer agree


def test_fp32_faster_chooses_fp32(probe, tiny_causal_dir, tmp_path):
    probe(fp32=251.0, bf16=135.0)
    cfg = _cfg(tiny_causal_dir)
    assert resolve_precision(cfg).choice == "fp32"
    assert not training_arguments(cfg, tmp_path, has_dev=False, group_by_length=False).bf16


def test_a_tie_within_the_margin_stays_fp32(probe, tiny_causal_dir):
    probe(fp32=200.0, bf16=210.0)
    assert resolve_precision(_cfg(tiny_causal_dir)).choice == "fp32"


def test_cuda_chooses_bf16_without_probing(probe, tiny_causal_dir, monkeypatch):
    calls = probe(fp32=500.0, bf16=1.0)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    choice = resolve_precision(_cfg(tiny_causal_dir))
    assert (choice.choice, choice.probe, calls) == ("bf16", None, [])


@pytest.mark.parametrize("value", ["fp32", "bf16"])
def test_explicit_precision_is_respected(probe, tiny_causal_dir, tmp_path, value):
    calls = probe(fp32=1.0, bf16=1000.0) if value == "fp32" else probe(fp32=1000.0, bf16=1.0)
    cfg = _cfg(tiny_causal_dir, value)
    assert resolve_precision(cfg).choice == value and calls == []
    assert training_arguments(cfg, tmp_path, has_dev=False, group_by_length=False).bf16 == (value == "bf16")


def test_run_records_the_choice_and_figures_in_system_json(probe, train_toy_run):
    probe(fp32=100.0, bf16=300.0)
    system = json.loads((train_toy_run(2) / "system.json").read_text())
    assert system["precision"]["setting"] == "auto" and system["precision"]["choice"] == "bf16"
    assert system["precision"]["probe"]["bf16_gflops"] == 300.0
    assert system["threads"]["setting"] == "auto" and system["threads"]["threads"] >= 1


def test_real_probe_is_short_and_measures_both_modes():
    result = probe_matmul(256, 64, 256)
    assert result.fp32_gflops > 0 and result.bf16_gflops > 0
    assert result.seconds < 2.0


def test_probe_shapes_come_from_the_students_config(tiny_causal_dir, tiny_seq2seq_dir):
    from transformers import AutoConfig

    from rdistill.training.precision import DEFAULT_WIDTHS, model_widths, step_tokens

    llama, t5 = AutoConfig.from_pretrained(tiny_causal_dir), AutoConfig.from_pretrained(tiny_seq2seq_dir)
    assert model_widths(_cfg(tiny_causal_dir)) == (llama.hidden_size, llama.intermediate_size)
    assert model_widths(_cfg(tiny_seq2seq_dir)) == (t5.d_model, t5.d_ff)
    assert model_widths(_cfg("org/not-downloadable")) == DEFAULT_WIDTHS  # the loader reports it later
    assert step_tokens(_cfg(tiny_causal_dir)) == 4 * (160 + 64) // 2



def test_a_resumed_auto_run_keeps_the_precision_of_its_first_start(monkeypatch, tiny_causal_dir):
    """Probing again on resume could switch precision halfway through a run."""
    monkeypatch.setattr(precision, "_CHOICES", {})
    monkeypatch.setattr(precision, "probe_matmul", lambda *a, **k: pytest.fail("probed on resume"))
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    cfg = _cfg(tiny_causal_dir)
    first = {"setting": "auto", "choice": "bf16", "reason": "matmul probe: ..."}
    assert resolve_precision(cfg, first).choice == "bf16"
    assert resolve_precision(cfg).choice == "bf16"  # later calls in the same run agree
