"""``loss.label_softmax: labels``: the label term as a softmax over the label words' first tokens."""

import json

import pytest
import torch
from transformers import TrainingArguments

from rdistill.data.example import Example
from rdistill.errors import ConfigError
from rdistill.losses import span_mean
from rdistill.methods.rationale.collator import RationaleCollator
from rdistill.methods.rationale.dataset import encode_examples
from rdistill.methods.rationale.pipeline import label_softmax_ids, train
from rdistill.methods.rationale.trainer import RationaleTrainer, first_label_tokens
from rdistill.methods.registry import load_recipe
from rdistill.models import apply_finetuning, load_model, load_tokenizer
from rdistill.prediction.labels import PredictionSettings, Predictor
from rdistill.tasks.layout import SPAN_EXPLANATION
from rdistill.tasks.registry import get_task

FMT = get_task("esnli")


def test_first_label_tokens_marks_the_start_of_each_label_span():
    spans = torch.tensor([[0, 1, 1, 0, 2, 2],
                          [2, 2, 0, 1, 1, 1],
                          [0, 0, 0, 0, 0, 0]])
    expected = torch.tensor([[0, 1, 0, 0, 0, 0],
                             [0, 0, 0, 1, 0, 0],
                             [0, 0, 0, 0, 0, 0]], dtype=torch.bool)
    assert torch.equal(first_label_tokens(spans), expected)


def _setup(model_dir, is_seq2seq, order="predict_explain"):
    torch.manual_seed(0)
    tok = load_tokenizer(model_dir)
    model, kind = load_model(model_dir)
    if not is_seq2seq:
        model, _ = apply_finetuning(model, kind, "lora", r=4, alpha=8, dropout=0.0)
        for name, p in model.named_parameters():  # a non-trivial adapter, so a bypass would show
            if "lora_B" in name:
                torch.nn.init.normal_(p, std=0.5)
    cfg = load_recipe(None, raw={"data": {"train_file": "x"}, "loss": {"output_order": order}})
    exs = [Example(uid=str(i), fields={"premise": f"the dog {i} runs", "hypothesis": h}, label=lab,
                   explanations=(e,))
           for i, (h, lab, e) in enumerate([("an animal runs", "entailment", "a dog is an animal"),
                                            ("a cat sleeps now", "contradiction", "a dog is not a cat"),
                                            ("the dog is big", "neutral", "size is not said")])]
    rows = encode_examples(exs, cfg, FMT, tok, is_seq2seq=is_seq2seq, seed=0)
    batch = RationaleCollator(tok.pad_token_id, is_seq2seq, 0)(rows.rows)
    predictor = Predictor(model, tok, FMT, is_seq2seq=is_seq2seq, settings=PredictionSettings(order=order),
                          generation=cfg.generation, show_progress=False)
    assert predictor.first_token_scoring
    return model, batch, [ids[0] for ids in predictor.label_ids], exs


def _trainer(model, tmp_path, **kwargs):
    args = TrainingArguments(output_dir=str(tmp_path), report_to=[], use_cpu=True)
    return RationaleTrainer(model=model, args=args, alpha=1.0, beta=0.5, **kwargs)


@pytest.mark.parametrize("order", ["predict_explain", "explain_predict"])
def test_causal_label_term_is_the_label_set_softmax_on_both_paths(tiny_causal_dir, tmp_path, order):
    model, batch, label_ids, exs = _setup(tiny_causal_dir, False, order)
    model.eval()  # no dropout: the two paths must see the same network
    sparse = _trainer(model, tmp_path, is_seq2seq=False, sparse_lm_head=True, label_ids=label_ids)
    dense = _trainer(model, tmp_path, is_seq2seq=False, sparse_lm_head=False, label_ids=label_ids)
    assert sparse.sparse_lm_head and not dense.sparse_lm_head
    loss_s, parts = sparse.compute_loss(model, batch, return_outputs=True)
    loss_d = dense.compute_loss(model, batch)
    # By hand: full logits, the position before each label's first token, 3-way softmax.
    logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits.float()
    first = first_label_tokens(batch["span_ids"])
    rows, cols = first.nonzero(as_tuple=True)
    restricted = logits[rows, cols - 1][:, label_ids]
    gold = torch.tensor([label_ids.index(int(t)) for t in batch["labels"][rows, cols]])
    assert gold.tolist() == [FMT.labels.index(ex.label) for ex in exs]
    label_term = torch.nn.functional.cross_entropy(restricted, gold)
    token_ce = torch.zeros_like(batch["labels"], dtype=torch.float32)
    token_ce[:, 1:] = torch.nn.functional.cross_entropy(
        logits[:, :-1].transpose(1, 2), batch["labels"][:, 1:], ignore_index=-100, reduction="none")
    expected = label_term + 0.5 * span_mean(token_ce, batch["span_ids"], SPAN_EXPLANATION)
    assert torch.allclose(parts["label_loss"], label_term, atol=1e-5)
    assert torch.allclose(loss_s, expected, atol=1e-5) and torch.allclose(loss_d, expected, atol=1e-5)
    # ...and it is not the vocabulary CE the default trains
    vocab = _trainer(model, tmp_path, is_seq2seq=False, sparse_lm_head=True)
    assert not torch.allclose(vocab.compute_loss(model, batch), expected, atol=1e-3)


def test_seq2seq_label_term_reads_the_decoder_position_of_the_label(tiny_seq2seq_dir, tmp_path):
    model, batch, label_ids, exs = _setup(tiny_seq2seq_dir, True)
    model.eval()
    trainer = _trainer(model, tmp_path, is_seq2seq=True, label_ids=label_ids)
    _, parts = trainer.compute_loss(model, batch, return_outputs=True)
    logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                   decoder_input_ids=batch["decoder_input_ids"],
                   decoder_attention_mask=batch["decoder_attention_mask"]).logits.float()
    first = first_label_tokens(batch["span_ids"])
    gold = torch.tensor([FMT.labels.index(ex.label) for ex in exs])
    assert torch.allclose(parts["label_loss"],
                          torch.nn.functional.cross_entropy(logits[first][:, label_ids], gold), atol=1e-5)


def test_a_label_token_outside_the_label_set_is_an_error(tiny_causal_dir, tmp_path):
    model, batch, label_ids, _ = _setup(tiny_causal_dir, False)
    trainer = _trainer(model, tmp_path, is_seq2seq=False, label_ids=label_ids[1:])  # one label missing
    with pytest.raises(ValueError, match="not the first token of any label"):
        trainer.compute_loss(model, batch)


def test_labels_sharing_a_first_token_are_refused_by_name():
    cfg = load_recipe(None, raw={"data": {"train_file": "x"}, "loss": {"label_softmax": "labels"}})
    shared = type("P", (), {"first_token_scoring": False, "fmt": FMT, "label_ids": [[5, 1], [5, 2], [7]]})
    with pytest.raises(ConfigError, match="loss.label_softmax"):
        label_softmax_ids(cfg, shared())
    distinct = type("P", (), {"first_token_scoring": True, "fmt": FMT, "label_ids": [[5, 1], [6], [7]]})
    assert label_softmax_ids(cfg, distinct()) == [5, 6, 7]
    cfg_vocab = load_recipe(None, raw={"data": {"train_file": "x"}})
    assert cfg_vocab.loss.label_softmax == "vocab" and label_softmax_ids(cfg_vocab, shared()) is None


def test_recipes_that_train_no_label_words_refuse_it():
    with pytest.raises(ConfigError, match="loss.label_softmax.*gsm8k has no label set"):
        load_recipe(None, raw={"data": {"dataset": "gsm8k", "train_file": "x", "split_by": "row"},
                               "loss": {"label_softmax": "labels"}})
    with pytest.raises(ConfigError, match="loss.label_softmax.*method 'coconut' trains no label words"):
        load_recipe("configs/coconut/prosqa-small-smollm2.yaml", ["loss.label_softmax=labels"])


def test_a_run_trains_with_it_and_logs_the_label_set_loss(tiny_causal_dir, esnli_file, tmp_path, toy_config):
    raw = toy_config(tiny_causal_dir, esnli_file)
    raw["loss"]["label_softmax"] = "labels"
    out = tmp_path / "run"
    metrics = train(load_recipe(None, raw=raw), out, show_progress=False)
    logged = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    labels = [r["loss_label"] for r in logged if "loss_label" in r]
    # a 3-way softmax starts near ln 3 (a 49k-way one far above it) and falls as the label is learned
    assert labels[0] < 2.0 and labels[-1] < 0.5 * labels[0]
    assert metrics["n"] == 9 and 0.0 <= metrics["label_accuracy"] <= 1.0
