"""``generation.precision``: the dtype a student predicts in, chosen by a probe at prediction's
shapes (``auto``), and the same for the held-out scores of ``train`` and for ``rdistill eval``."""

import json

import pytest
import torch

from rdistill.methods.base import EvalRequest
from rdistill.methods.rationale.pipeline import train
from rdistill.methods.registry import evaluate_run, load_recipe, run_predictor
from rdistill.training import precision
from rdistill.training.precision import ProbeResult, probe_matmul, resolve_inference_precision
from rdistill.training.run_folder import RunFolder, inference_model, load_student


def _cfg(model_dir, value="auto", batch_size=8):
    return load_recipe(None, raw={"data": {"train_file": "x"}, "model": {"name": str(model_dir)},
                                  "generation": {"precision": value, "batch_size": batch_size},
                                  "training": {"max_source_tokens": 64}})


@pytest.fixture
def probe(monkeypatch):
    """Sets the figures the (mocked) probe reports; records how it was called."""
    calls = []

    def set_figures(fp32, bf16):
        def fake(tokens, hidden, intermediate, **kwargs):
            calls.append(((tokens, hidden, intermediate), kwargs))
            return ProbeResult(fp32_gflops=fp32, bf16_gflops=bf16, shapes=((tokens, hidden, intermediate),),
                               seconds=0.1)
        monkeypatch.setattr(precision, "probe_matmul", fake)
        return calls
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    return set_figures


def test_auto_takes_bf16_when_the_probe_of_bf16_tensors_says_it_is_faster(probe, tiny_causal_dir):
    calls = probe(fp32=190.0, bf16=420.0)
    choice = resolve_inference_precision(_cfg(tiny_causal_dir, batch_size=8))
    assert choice.choice == "bf16" and choice.setting == "auto" and "420.0" in choice.reason
    (tokens, hidden, _), kwargs = calls[0]
    # bf16 tensors (a cast student), a prompt batch (8 rows x half of 64 tokens), and one decoding step
    assert kwargs == {"bf16_mode": "bf16", "rows": 8} and tokens == 8 * 32 and hidden == 32
    resolve_inference_precision(_cfg(tiny_causal_dir, batch_size=8))
    assert len(calls) == 1  # once per process and shape


@pytest.mark.parametrize("fp32,bf16", [(251.0, 135.0), (200.0, 210.0)])
def test_auto_stays_fp32_when_bf16_is_slower_or_within_the_margin(probe, tiny_causal_dir, fp32, bf16):
    probe(fp32=fp32, bf16=bf16)
    assert resolve_inference_precision(_cfg(tiny_causal_dir)).choice == "fp32"


@pytest.mark.parametrize("value", ["fp32", "bf16"])
def test_an_explicit_setting_passes_through_without_a_probe(probe, tiny_causal_dir, value):
    calls = probe(fp32=1.0, bf16=1000.0)
    assert resolve_inference_precision(_cfg(tiny_causal_dir, value)).choice == value
    assert calls == []


def test_cuda_predicts_in_bf16_without_a_probe(monkeypatch, tiny_causal_dir):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda: True)
    assert resolve_inference_precision(_cfg(tiny_causal_dir)).choice == "bf16"


def test_the_real_probe_times_bf16_tensors_and_the_decoding_rows():
    result = probe_matmul(64, 32, 64, budget_s=0.5, bf16_mode="bf16", rows=4)
    assert result.fp32_gflops > 0 and result.bf16_gflops > 0
    # All four matmuls, unless bf16 is emulated here (then only the small first round ran).
    assert result.shapes in (((64, 32, 64), (64, 64, 32), (4, 32, 64), (4, 64, 32)), ((64, 32, 64),))


def test_inference_model_merges_the_adapter_and_casts(tiny_causal_dir):
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    model = get_peft_model(AutoModelForCausalLM.from_pretrained(tiny_causal_dir),
                           LoraConfig(r=4, target_modules=["q_proj", "v_proj"], init_lora_weights=False))
    ids = torch.tensor([[3, 4, 5, 6]])
    with torch.no_grad():
        before = model(input_ids=ids).logits
        merged = inference_model(model, torch.bfloat16)
        after = merged(input_ids=ids).logits.float()
    assert not hasattr(merged, "peft_config") and not merged.training
    assert {p.dtype for p in merged.parameters()} == {torch.bfloat16}
    assert torch.allclose(before, after, atol=0.05, rtol=0.05)


def test_a_bf16_run_scores_its_held_out_rows_as_rdistill_eval_does(tiny_causal_dir, esnli_file, tmp_path,
                                                                   toy_config):
    raw = toy_config(tiny_causal_dir, esnli_file, epochs=2, lr=2e-2)
    raw["finetune"] = {"mode": "lora", "r": 8, "alpha": 16, "target_modules": "all-linear"}
    raw["generation"] = {"precision": "bf16", "max_new_tokens": 8}
    raw["evaluation"] = {"bertscore": False, "judge": False}
    out = tmp_path / "run"
    metrics = train(load_recipe(None, raw=raw), out, show_progress=False)
    assert metrics["predict_dtype"] == "bfloat16"
    folder = RunFolder(out)
    in_training = [json.loads(x) for x in folder.eval_metrics.with_suffix(".predictions.jsonl").read_text().splitlines()]

    again = evaluate_run(out, EvalRequest(output=str(tmp_path / "again.json")))
    assert again["predict_dtype"] == "bfloat16"
    reloaded = [json.loads(x) for x in (tmp_path / "again.predictions.jsonl").read_text().splitlines()]
    assert [r["pred_label"] for r in reloaded] == [r["pred_label"] for r in in_training]
    assert [r["label_probs"] for r in reloaded] == [r["label_probs"] for r in in_training]
    assert [r["pred_explanation"] for r in reloaded] == [r["pred_explanation"] for r in in_training]

    predictor, _ = run_predictor(out)  # predict and profile load the student the same way
    assert next(predictor.model.parameters()).dtype == torch.bfloat16
    fp32_model, *_ = load_student(out)
    assert next(fp32_model.parameters()).dtype == torch.float32  # the default: fp32
