"""``model.attention: auto``: the attention probe decides the training kernel, recorded in
system.json and kept on resume; prediction always runs the fused kernel."""

import json

import pytest
import torch

from rdistill.methods.registry import load_recipe
from rdistill.methods.rationale.pipeline import train
from rdistill.training import attention
from rdistill.training.attention import probe_attention, resolve_attention, use_attention
from rdistill.training.run_folder import RunFolder, inference_model


def _cfg(model_dir, value="auto"):
    return load_recipe(None, raw={"data": {"train_file": "x"}, "model": {"name": str(model_dir), "attention": value},
                                  "training": {"batch_size": 4, "max_source_tokens": 40, "max_target_tokens": 24}})


@pytest.fixture
def probe(monkeypatch):
    calls = []

    def set_ms(sdpa_ms, eager_ms):
        def fake(*shape_and_dtype, **_):
            calls.append(shape_and_dtype)
            return sdpa_ms, eager_ms
        monkeypatch.setattr(attention, "probe_attention", fake)
        return calls
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    return set_ms


def test_eager_is_chosen_when_the_probe_finds_it_faster(probe, tiny_causal_dir):
    calls = probe(sdpa_ms=9.7, eager_ms=6.9)
    choice = resolve_attention(_cfg(tiny_causal_dir))
    assert choice.choice == "eager" and choice.sdpa_ms == 9.7 and choice.eager_ms == 6.9
    # The step's shape: batch 4, the tiny Llama's heads, half the longest row, its head width.
    batch, heads, tokens, head_dim = calls[0][:4]
    assert (batch, tokens) == (4, 32) and heads * head_dim == 32
    assert calls[0][4] == torch.float32  # the test probe makes fp32 the precision
    resolve_attention(_cfg(tiny_causal_dir))
    assert len(calls) == 1


@pytest.mark.parametrize("sdpa_ms,eager_ms", [(5.0, 9.0), (10.0, 9.5)])
def test_sdpa_stays_when_faster_or_within_the_margin(probe, tiny_causal_dir, sdpa_ms, eager_ms):
    probe(sdpa_ms=sdpa_ms, eager_ms=eager_ms)
    assert resolve_attention(_cfg(tiny_causal_dir)).choice == "sdpa"


def test_explicit_setting_and_resumed_choice_skip_the_probe(probe, tiny_causal_dir):
    calls = probe(sdpa_ms=1.0, eager_ms=100.0)
    assert resolve_attention(_cfg(tiny_causal_dir, "eager")).choice == "eager"
    resumed = {"setting": "auto", "choice": "eager", "sdpa_ms": 9.0, "eager_ms": 6.0}
    assert resolve_attention(_cfg(tiny_causal_dir), resumed).choice == "eager"
    assert resolve_attention(_cfg(tiny_causal_dir)).choice == "eager"  # the pipeline asks again: same
    assert calls == []


def test_cuda_keeps_the_fused_kernel(monkeypatch, tiny_causal_dir):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert resolve_attention(_cfg(tiny_causal_dir)).choice == "sdpa"


def test_the_real_probe_times_both_kernels_and_they_agree():
    sdpa_ms, eager_ms = probe_attention(2, 2, 16, 8, torch.float32, budget_s=0.3)
    assert sdpa_ms > 0 and eager_ms > 0
    q, k, v = (torch.randn(2, 2, 16, 8) for _ in range(3))
    mask = torch.full((16, 16), float("-inf")).triu(1)[None, None].expand(2, 1, -1, -1)
    assert torch.allclose(attention._eager(q, k, v, mask), attention._sdpa(q, k, v, mask), atol=1e-5)


def test_a_run_trains_with_the_chosen_kernel_and_predicts_with_sdpa(probe, tiny_causal_dir, esnli_file,
                                                                    tmp_path, toy_config, monkeypatch):
    probe(sdpa_ms=9.0, eager_ms=3.0)
    seen = []
    original = use_attention

    def spy(model, choice):
        original(model, choice)
        seen.append(model.get_base_model().config._attn_implementation
                    if hasattr(model, "get_base_model") else model.config._attn_implementation)
    monkeypatch.setattr("rdistill.methods.rationale.pipeline.use_attention", spy)
    raw = toy_config(tiny_causal_dir, esnli_file)
    raw["evaluation"] = {"bertscore": False, "judge": False}
    out = tmp_path / "run"
    train(load_recipe(None, raw=raw), out, show_progress=False)
    assert seen == ["eager"]
    system = json.loads(RunFolder(out).system.read_text())
    assert system["attention"]["choice"] == "eager" and system["attention"]["eager_ms"] == 3.0


def test_inference_model_returns_to_the_fused_kernel(tiny_causal_dir):
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(tiny_causal_dir)
    model.set_attn_implementation("eager")
    assert inference_model(model).config._attn_implementation == "sdpa"


def test_eager_is_refused_where_its_saved_attention_would_crowd_memory(probe, tiny_causal_dir, monkeypatch):
    calls = probe(sdpa_ms=9.0, eager_ms=1.0)
    # tiny Llama: batch 4, 64-token rows; 6 B x 4 x heads x 64^2 x layers is some hundred kB
    need = attention.eager_attention_bytes(4, 4, 64, 2)
    monkeypatch.setattr(attention, "memory_bytes", lambda: 5 * need)  # 20 % of memory: too much
    choice = resolve_attention(_cfg(tiny_causal_dir))
    assert choice.choice == "sdpa" and "over 10% of the" in choice.reason and calls == []
    monkeypatch.setattr(attention, "_CHOICES", {})
    monkeypatch.setattr(attention, "memory_bytes", lambda: 100 * need)
    assert resolve_attention(_cfg(tiny_causal_dir)).choice == "eager"


def test_eager_attention_bytes_for_the_quick_start_and_long_rows():
    # SmolLM2-135M (9 heads, 30 layers), batch 16: the quick start's 176-token rows vs ANLI's 320
    assert attention.eager_attention_bytes(16, 9, 176, 30) / 1e9 == pytest.approx(0.80, abs=0.01)
    assert attention.eager_attention_bytes(16, 9, 320, 30) / 1e9 == pytest.approx(2.65, abs=0.01)
