"""Predictor: label scoring and explanation generation on tiny random models."""

import pytest
import torch

from rdistill.config import GenerationConfig
from rdistill.data.example import Example, TeacherRationale
from rdistill.tasks.registry import get_task
from rdistill.models import load_model, load_tokenizer
from rdistill.prediction.labels import PredictionSettings, Predictor

FMT = get_task("esnli")
EXAMPLES = [Example(uid=str(i), fields={"premise": p, "hypothesis": h}, label="neutral", explanations=("x",))
            for i, (p, h) in enumerate([("a dog runs", "an animal runs"),
                                        ("the happy dog number one runs fast", "a cat sleeps"),
                                        ("a dog", "a happy dog runs because it is happy")])]


def _predictor(model_dir, **settings):
    tok = load_tokenizer(model_dir)
    model, kind = load_model(model_dir)
    torch.manual_seed(0)
    return Predictor(model, tok, FMT, is_seq2seq=kind == "seq2seq", show_progress=False,
                     settings=PredictionSettings(**settings),
                     generation=GenerationConfig(max_new_tokens=6, batch_size=2))


@pytest.mark.parametrize("model_fixture", ["tiny_causal_dir", "tiny_seq2seq_dir"])
@pytest.mark.parametrize("settings", [{}, {"order": "explain_predict"}, {"task_prefix": True}],
                         ids=["predict_explain", "explain_predict", "step_by_step"])
def test_predict_gives_valid_label_probs_and_text(model_fixture, settings, request):
    pred = _predictor(request.getfixturevalue(model_fixture), **settings)
    records = pred.predict(EXAMPLES)
    assert [r["uid"] for r in records] == ["0", "1", "2"]
    for r in records:
        assert r["pred_label"] in FMT.labels
        assert abs(sum(r["label_probs"].values()) - 1) < 1e-5
        assert r["pred_label"] == max(r["label_probs"], key=r["label_probs"].get)
        assert isinstance(r["pred_explanation"], str) and "\n" not in r["pred_explanation"]


@pytest.mark.parametrize("model_fixture", ["tiny_causal_dir", "tiny_seq2seq_dir"])
def test_batched_scores_equal_one_at_a_time(model_fixture, request):
    pred = _predictor(request.getfixturevalue(model_fixture))
    together = pred.label_probabilities(EXAMPLES, batch_size=3)
    alone = [pred.label_probabilities([ex], batch_size=1)[0] for ex in EXAMPLES]
    for a, b in zip(together, alone):
        for lab in FMT.labels:
            assert a[lab] == pytest.approx(b[lab], abs=1e-5)  # padding must not change a score


def test_batched_generation_equals_one_at_a_time(tiny_causal_dir):
    pred = _predictor(tiny_causal_dir)
    labels = ["entailment", "neutral", "contradiction"]
    together = pred.explanations(EXAMPLES, labels)
    alone = [pred.explanations([ex], [lab])[0] for ex, lab in zip(EXAMPLES, labels)]
    assert together == alone  # left padding must not change greedy output


def test_sequence_scoring_when_label_first_tokens_collide(tiny_causal_dir):
    pred = _predictor(tiny_causal_dir)
    fast = pred.label_probabilities(EXAMPLES)
    pred.first_token_scoring = False  # force the multi-token path
    full = pred.label_probabilities(EXAMPLES)
    for f, s in zip(fast, full):
        assert abs(sum(s.values()) - 1) < 1e-5
    # the full path scores every token of each label, so it differs from first-token scores
    # whenever some label is multi-token; with single-token labels both are equal
    if all(len(ids) == 1 for ids in pred.label_ids):
        for f, s in zip(fast, full):
            assert f == pytest.approx(s, abs=1e-5)


def test_label_only_student_writes_no_explanation(tiny_causal_dir):
    records = _predictor(tiny_causal_dir, explain=False).predict(EXAMPLES)
    assert all(r["pred_explanation"] is None for r in records)


def test_records_carry_the_first_teacher_rationale(tiny_causal_dir):
    rationales = (TeacherRationale("palm", "a dog is an animal", "entailment"),
                  TeacherRationale("other", "second teacher", "neutral"))
    examples = [EXAMPLES[0], Example(uid="t", fields=EXAMPLES[1].fields, label="neutral",
                                     rationales=rationales)]
    records = _predictor(tiny_causal_dir, explain=False).predict(examples)
    assert (records[0]["teacher_label"], records[0]["teacher_rationale"]) == (None, None)
    assert (records[1]["teacher_label"], records[1]["teacher_rationale"]) == (
        "entailment", "a dog is an animal")


def test_clean_explanation_cuts_newline_and_answer_marker():
    from rdistill.prediction.labels import clean_explanation

    assert clean_explanation(" a dog is an animal\nAnswer: entailment") == "a dog is an animal"
    assert clean_explanation("a dog is an animal answer : entailment") == "a dog is an animal"
    assert clean_explanation("") == ""


def test_last_position_head_equals_full_logits(tiny_causal_dir):
    pred = _predictor(tiny_causal_dir)
    dec = [[5, 6, 7, 8], [9, 10]]
    fast = pred._last_logits([], dec)
    padded = torch.tensor([[5, 6, 7, 8], [9, 10, pred.pad_id, pred.pad_id]])
    mask = torch.tensor([[1, 1, 1, 1], [1, 1, 0, 0]])
    with torch.no_grad():
        full = pred.model(input_ids=padded, attention_mask=mask).logits
    torch.testing.assert_close(fast, torch.stack([full[0, 3], full[1, 1]]), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("model_fixture", ["tiny_seq2seq_dir"])  # decoder-only: no waves
def test_generation_in_waves_equals_one_uninterrupted_run(model_fixture, request, monkeypatch):
    from rdistill.prediction import labels as prediction

    labels = ["neutral", "entailment", "contradiction"]

    def peaked(pred):
        # A random model's next-token logits are nearly flat, so float noise between a
        # padded batch and a single row can flip greedy ties; sharpen them.
        with torch.no_grad():
            pred.model.get_output_embeddings().weight.mul_(30)
        return pred

    one = peaked(_predictor(request.getfixturevalue(model_fixture)))
    one.gen.max_new_tokens, one.gen.batch_size = 11, 1  # batch 1: no waves
    expected = one.explanations(EXAMPLES, labels)
    assert all(len(text.split()) >= 3 for text in expected)  # long enough to span waves
    monkeypatch.setattr(prediction, "WAVE_TOKENS", 3)  # 3 + 3 + 3 + 2 new tokens
    waves = peaked(_predictor(request.getfixturevalue(model_fixture)))
    waves.gen.max_new_tokens, waves.gen.batch_size = 11, 2
    calls = []
    original = waves._generate
    monkeypatch.setattr(waves, "_generate", lambda e, d, n: calls.append(n) or original(e, d, n))
    assert waves.explanations(EXAMPLES, labels) == expected
    assert calls[0] == 3 and sum(calls) >= 11


def test_stop_ids_hold_the_end_token(tiny_causal_dir):
    pred = _predictor(tiny_causal_dir)
    assert pred.tok.eos_token_id in pred.stop_ids


@pytest.mark.parametrize("model_fixture", ["tiny_causal_dir", "tiny_seq2seq_dir"])
def test_num_beams_decodes_with_beam_search(model_fixture, request, monkeypatch):
    """``generation.num_beams`` (a recipe's, or ``rdistill eval --set``) reaches the decoder."""
    model_dir = request.getfixturevalue(model_fixture)
    model, kind = load_model(model_dir)
    beams, generate = [], model.generate

    def spy(*args, **kwargs):
        beams.append(kwargs["num_beams"])
        return generate(*args, **kwargs)
    monkeypatch.setattr(model, "generate", spy)
    pred = Predictor(model, load_tokenizer(model_dir), FMT, is_seq2seq=kind == "seq2seq", show_progress=False,
                     settings=PredictionSettings(), generation=GenerationConfig(max_new_tokens=6, batch_size=2,
                                                                                num_beams=3))
    texts = pred.explanations(EXAMPLES, ["entailment", "neutral", "contradiction"])
    assert len(texts) == 3 and all(isinstance(t, str) for t in texts)
    assert beams and set(beams) == {3}  # every batch by beam search, none by the greedy batch decoder
