"""Latent runs are evaluated: answers parsed and scored, layers compared with the teacher's."""

import json

import pytest
import torch

import rdistill.methods.latent.evaluate as latent_evaluate
import rdistill.prediction.latent as latent_prediction
from rdistill.methods.registry import load_recipe
from rdistill.data.example import Example
from rdistill.methods.latent.evaluate import layer_similarity
from rdistill.prediction.latent import parse_answer, predict_answers, split_output
from rdistill.methods.latent.run import extract_cache, train_latent
from rdistill.tasks.latent_layout import latent_text
from rdistill.models import load_model, load_tokenizer


@pytest.mark.parametrize("output, expected", [
    ("84 / 2 = 42\nAnswer: 42", ("84 / 2 = 42", "42")),
    ("Answer: 7", ("", "7")),
    ("a\nAnswer: 3\nAnswer: 5", ("a\nAnswer: 3", "5")),  # the last one counts
    ("84 / 2 = 42", ("84 / 2 = 42", None)),               # never wrote Answer: -> no answer
    ("x\nAnswer:  ", ("x", None)),
])
def test_split_output(output, expected):
    assert split_output(output) == expected


def test_parse_answer_numbers_and_labels():
    assert parse_answer("42", "svamp") == "42"
    assert parse_answer("1,250 dollars", "gsm8k") == "1250"
    assert parse_answer("3/4", "svamp") == "0.75"  # canonical decimal form
    assert parse_answer("Entailment.", "esnli") == "entailment"
    assert parse_answer("maybe", "esnli") is None
    assert parse_answer(None, "svamp") is None


def test_parse_answer_open_text_tasks_take_the_whole_answer():
    # ProsQA's answer is a sentence with no number or "the answer is": it was read as no answer
    assert parse_answer("Eva is a lorpus.", "prosqa") == "eva is a lorpus"
    assert parse_answer("  Tom  is a   wumpus. ", "prosqa") == "tom is a wumpus"
    assert parse_answer("8 2 6 5 1", "multiplication") == "8 2 6 5 1"
    assert parse_answer("", "prosqa") is None


class _TextTokenizer:
    """Encodes a whole text as one id (its index in a table): outputs round-trip exactly."""

    eos_token_id, pad_token_id = 0, 0

    def __init__(self):
        self.table = ["<eos>"]

    def __call__(self, text, add_special_tokens=False):
        if text not in self.table:
            self.table.append(text)
        return {"input_ids": [self.table.index(text)]}

    def decode(self, ids, skip_special_tokens=True):
        return "".join(self.table[i] for i in ids if not (skip_special_tokens and i == self.eos_token_id))


def test_predict_answers_scores_what_the_model_wrote(monkeypatch):
    """The generation is stubbed with known texts, so the parsing and the scoring are what is tested."""
    tokenizer = _TextTokenizer()
    examples = [Example(uid=f"q{i}", fields={"question": f"q {i}"}, label=str(i), explanations=(f"{i} = {i}",))
                for i in range(3)]
    written = {"Question: q 0\n": "0 = 0\nAnswer: 0", "Question: q 1\n": "1 = 1\nAnswer: 2",
               "Question: q 2\n": "2 = 2"}

    def fake_decode(model, prompts, *, max_new_tokens, stop_ids, pad_id):
        assert stop_ids == {0} and pad_id == 0
        return [(tokenizer(written[tokenizer.decode(ids)])["input_ids"] + [0], True) for ids in prompts]

    monkeypatch.setattr(latent_prediction, "greedy_decode", fake_decode)
    records = predict_answers(None, tokenizer, examples, "svamp", max_prompt_tokens=32, max_new_tokens=8,
                              batch_size=2)
    assert [r["uid"] for r in records] == ["q0", "q1", "q2"]
    assert [r["pred_label"] for r in records] == ["0", "2", None]
    assert records[0]["pred_explanation"] == "0 = 0" and records[2]["answer_text"] is None
    metrics = latent_evaluate.answer_metrics(records, "svamp")
    assert metrics["answer_accuracy"] == pytest.approx(1 / 3)
    assert metrics["invalid_rate"] == pytest.approx(1 / 3)
    assert metrics["per_example"]["error_category"] == ["correct", "wrong_answer", "invalid"]


def test_layer_similarity_of_a_model_with_itself_is_perfect(tiny_causal_dir, examples):
    model, _ = load_model(tiny_causal_dir, kind="causal")
    tokenizer = load_tokenizer(tiny_causal_dir)
    result = layer_similarity(model, tokenizer, model, tokenizer, examples[:4], pairs=[(2, 2), (2, 1)],
                              projection=None, max_prompt_tokens=64, max_target_tokens=32, batch_size=3)
    grid = torch.tensor(result["similarity"])
    assert result["student_layers"] == [1, 2] and result["teacher_layers"] == [1, 2]
    assert torch.allclose(grid.diagonal(), torch.ones(2), atol=1e-5)
    assert grid[0, 1] < 0.999  # different layers of a random model are not the same
    same, other = result["pairs"]
    assert same["cosine"] == pytest.approx(1.0, abs=1e-5) and same["mse"] == pytest.approx(0.0, abs=1e-8)
    assert other["cosine"] == pytest.approx(float(grid[0, 1]), abs=1e-5) and other["mse"] > 0
    n_tokens = sum(len(tokenizer(latent_text(ex).target, add_special_tokens=False)["input_ids"])
                   for ex in examples[:4])
    assert result["tokens"] == n_tokens


def test_train_latent_evaluates_the_student(tmp_path, tiny_causal_dir, tiny_other_dir, examples, latent_config):
    """Different tokenizers and hidden sizes: answers scored, similarity through the projection."""
    cfg = load_recipe(None, raw=latent_config(tiny_causal_dir, tiny_other_dir, tmp_path / "cache", layers=[1, 2],
                                              layer_map=[[1, 2], [2, 3]]))
    extract_cache(cfg, examples=examples[:6])
    summary = train_latent(cfg, tmp_path / "run", examples=examples[:6], test_examples=examples[6:])
    run = tmp_path / "run"
    metrics = json.loads((run / "eval" / "metrics.json").read_text())
    predictions = [json.loads(x) for x in (run / "eval" / "metrics.predictions.jsonl").read_text().splitlines()]
    assert metrics["n"] == 4 and [p["uid"] for p in predictions] == [ex.uid for ex in examples[6:]]
    correct = sum(p["pred_label"] == ex.label for p, ex in zip(predictions, examples[6:]))
    assert metrics["answer_accuracy"] == pytest.approx(correct / 4)
    assert summary["eval"]["answer_accuracy"] == metrics["answer_accuracy"]
    similarity = json.loads((run / "layer_similarity.json").read_text())
    assert similarity["similarity"] is None  # hidden 48 vs 32: no raw grid
    assert [(p["teacher_layer"], p["student_layer"]) for p in similarity["pairs"]] == [(1, 2), (2, 3)]
    assert all(-1 <= p["cosine"] <= 1 and p["mse"] > 0 for p in similarity["pairs"])
    assert metrics["layer_pairs"] == similarity["pairs"]
    assert (run / "student" / "rdistill.json").is_file()


def test_train_latent_without_test_rows_is_not_evaluated(tmp_path, tiny_causal_dir, examples, latent_config):
    cfg = load_recipe(None, raw=latent_config(tiny_causal_dir, tiny_causal_dir, tmp_path / "cache", mode="sft",
                                              target="answer"))
    summary = train_latent(cfg, tmp_path / "run", examples=examples)
    assert summary["eval"] is None and not (tmp_path / "run" / "eval").exists()


def test_answer_only_target_needs_sft(tiny_causal_dir, tmp_path, latent_config):
    with pytest.raises(Exception, match="no-chain-of-thought"):
        load_recipe(None, raw=latent_config(tiny_causal_dir, tiny_causal_dir, tmp_path, target="answer"))
