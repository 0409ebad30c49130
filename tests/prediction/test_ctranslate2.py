"""The CTranslate2 predictor gives the PyTorch predictor's labels, probabilities and explanations
(float32 weights: the same model, another engine)."""

from __future__ import annotations

import pytest
import torch

from rdistill.config import GenerationConfig
from rdistill.data.example import Example
from rdistill.models import load_model, load_tokenizer
from rdistill.prediction.labels import PredictionSettings, Predictor
from rdistill.tasks.registry import get_task
from rdistill.training.export import write_export

pytest.importorskip("ctranslate2")
from rdistill.prediction.ctranslate2 import ctranslate2_predictor  # noqa: E402

ESNLI = get_task("esnli")
EXAMPLES = [Example(uid=str(i), fields={"premise": p, "hypothesis": h}, label="neutral")
            for i, (p, h) in enumerate([("a dog runs", "an animal runs"),
                                        ("the happy dog number one runs fast", "a cat sleeps"),
                                        ("a dog", "a happy dog runs because it is happy"),
                                        ("two people are playing ball in the park", "people play")])]


@pytest.fixture(scope="module")
def peaked(tiny_causal_dir, tmp_path_factory):
    """(PyTorch model, tokenizer, its float32 CTranslate2 export). The random model's next-token
    logits are nearly flat, so float noise between engines could flip greedy ties: sharpened."""
    model, _ = load_model(tiny_causal_dir)
    tokenizer = load_tokenizer(tiny_causal_dir)
    with torch.no_grad():
        model.get_output_embeddings().weight.mul_(30)
    out = tmp_path_factory.mktemp("ct2") / "export"
    write_export(model, tokenizer, out, fmt="ctranslate2", quantization="float32", source=tiny_causal_dir,
                 config_text="name: x\n", meta={"kind": "causal", "method": "rationale"})
    return model, tokenizer, out


def _pair(peaked, task=ESNLI, gen=None, **settings):
    model, tokenizer, out = peaked
    settings = PredictionSettings(**settings)
    gen = gen or GenerationConfig(max_new_tokens=8, batch_size=2)
    torch_pred = Predictor(model, tokenizer, task, is_seq2seq=False, settings=settings, generation=gen,
                           show_progress=False)
    if task.answer_kind is not None:
        from rdistill.prediction.answers import AnswerPredictor

        torch_pred = AnswerPredictor(model, tokenizer, task, is_seq2seq=False, settings=settings,
                                     generation=gen, show_progress=False)
    ct2 = ctranslate2_predictor(out, tokenizer, task, settings=settings, generation=gen, threads=1,
                                end_ids=tuple(torch_pred.model_end_ids()))
    return torch_pred, ct2


@pytest.mark.parametrize("settings", [{}, {"order": "explain_predict"}, {"task_prefix": True}],
                         ids=["predict_explain", "explain_predict", "step_by_step"])
def test_same_labels_probabilities_and_explanations(peaked, settings):
    torch_pred, ct2 = _pair(peaked, **settings)
    expected, got = torch_pred.predict(EXAMPLES), ct2.predict(EXAMPLES)
    assert [r["pred_label"] for r in got] == [r["pred_label"] for r in expected]
    for g, e in zip(got, expected):
        assert g["label_probs"] == pytest.approx(e["label_probs"], abs=1e-4)
    assert [r["pred_explanation"] for r in got] == [r["pred_explanation"] for r in expected]
    assert any(r["pred_explanation"] for r in got)  # something was generated, not two empty lists


def test_ragged_batch_logits_equal_the_models(peaked):
    torch_pred, ct2 = _pair(peaked)
    dec = [[5, 6, 7, 8, 9, 10, 11], [9, 10], [12, 13], [12, 13, 14]]  # grouped by length, order kept
    torch.testing.assert_close(ct2._last_logits([], dec), torch_pred._last_logits([], dec),
                               rtol=1e-4, atol=1e-4)


def test_multi_token_label_scores_equal_the_models(peaked):
    torch_pred, ct2 = _pair(peaked)
    torch_pred.first_token_scoring = ct2.first_token_scoring = False  # the score_batch path
    for e, g in zip(torch_pred.label_probabilities(EXAMPLES), ct2.label_probabilities(EXAMPLES)):
        assert g == pytest.approx(e, abs=1e-4)


def test_stop_tokens_are_the_predictors(peaked):
    torch_pred, ct2 = _pair(peaked)
    assert ct2.stop_ids == torch_pred.stop_ids and peaked[1].eos_token_id in ct2.stop_ids


def test_open_answer_task_writes_the_same_text(peaked):
    gsm8k = get_task("gsm8k")
    rows = [Example(uid=str(i), fields={"question": q}, label="3")
            for i, q in enumerate(["two dogs and one cat: how many?", "the man has 3 red balls"])]
    torch_pred, ct2 = _pair(peaked, task=gsm8k, gen=GenerationConfig(max_new_tokens=12, batch_size=2))
    assert [r["generated"] for r in ct2.predict(rows)] == [r["generated"] for r in torch_pred.predict(rows)]
