"""``model.label_head: encoder``: the label from a classifier on the encoder, the explanation
from the decoder after the predicted label."""

import json

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file
from transformers import TrainingArguments

from rdistill.data.example import Example

from rdistill.cli import main
from rdistill.errors import ConfigError, ModelError
from rdistill.losses import span_mean
from rdistill.methods.rationale import trainer as trainer_module
from rdistill.methods.rationale.collator import RationaleCollator
from rdistill.methods.rationale.dataset import encode_examples
from rdistill.methods.rationale.pipeline import train
from rdistill.methods.rationale.trainer import RationaleTrainer
from rdistill.methods.registry import load_recipe
from rdistill.models import load_model, load_tokenizer
from rdistill.models.label_head import LABEL_HEAD_FILE, attach_label_head, encoder_label_logits
from rdistill.prediction.labels import PredictionSettings, Predictor
from rdistill.tasks.layout import SPAN_EXPLANATION
from rdistill.tasks.recipe_data import prepare_splits
from rdistill.tasks.registry import get_task
from rdistill.training.run_folder import RunFolder, load_student

FMT = get_task("esnli")
EXAMPLES = [Example(uid=str(i), fields={"premise": f"the dog {i} runs", "hypothesis": h}, label=lab,
                    explanations=(e,))
            for i, (h, lab, e) in enumerate([("an animal runs", "entailment", "a dog is an animal"),
                                             ("a cat sleeps now", "contradiction", "a dog is not a cat"),
                                             ("the dog is big", "neutral", "size is not said")])]


def _setup(model_dir, raw=None):
    """A tiny student with a seeded head, a collated batch of EXAMPLES, the label first-token ids."""
    tok = load_tokenizer(model_dir)
    model, _ = load_model(model_dir)
    attach_label_head(model, 3, seed=0)
    cfg = load_recipe(None, raw={"data": {"train_file": "x"}, **(raw or {})})
    rows = encode_examples(EXAMPLES, cfg, FMT, tok, is_seq2seq=True, seed=0)
    predictor = Predictor(model, tok, FMT, is_seq2seq=True, settings=PredictionSettings(),
                          generation=cfg.generation, show_progress=False)
    label_ids = [ids[0] for ids in predictor.label_ids]
    return model, RationaleCollator(tok.pad_token_id, True, 0)(rows.rows), label_ids, rows, predictor


def _trainer(model, tmp_path, **kwargs):
    args = TrainingArguments(output_dir=str(tmp_path), report_to=[], use_cpu=True)
    return RationaleTrainer(model=model, args=args, alpha=1.0, beta=0.5, **kwargs)


def _head_raw(toy_config, model_dir, esnli_file, **training):
    raw = toy_config(model_dir, esnli_file, **training)
    raw["model"]["label_head"] = "encoder"
    return raw


def test_label_term_is_the_heads_cross_entropy_and_the_decoder_explains(tiny_seq2seq_dir, tmp_path):
    model, batch, label_ids, _, _ = _setup(tiny_seq2seq_dir)
    model.eval()  # no dropout: the loss and the hand computation see the same network
    trainer = _trainer(model, tmp_path, is_seq2seq=True, label_ids=label_ids, label_head=True)
    loss, parts = trainer.compute_loss(model, batch, return_outputs=True)
    head_logits = encoder_label_logits(model, batch["input_ids"], batch["attention_mask"])
    gold = torch.tensor([FMT.labels.index(ex.label) for ex in EXAMPLES])
    label_term = torch.nn.functional.cross_entropy(head_logits, gold)
    logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                   decoder_input_ids=batch["decoder_input_ids"],
                   decoder_attention_mask=batch["decoder_attention_mask"]).logits.float()
    token_ce = torch.nn.functional.cross_entropy(logits.transpose(1, 2), batch["labels"], ignore_index=-100,
                                                 reduction="none")
    expl = span_mean(token_ce, batch["span_ids"], SPAN_EXPLANATION)
    assert torch.allclose(parts["label_loss"], label_term, atol=1e-5)
    assert torch.allclose(loss, label_term + 0.5 * expl, atol=1e-5)
    # the gradient reaches the head and the encoder
    loss.backward()
    assert model.rdistill_label_head.classifier.weight.grad.abs().sum() > 0


def test_rows_without_a_label_add_nothing_to_the_label_term(tiny_seq2seq_dir, tmp_path):
    model, batch, label_ids, rows, _ = _setup(tiny_seq2seq_dir, {"loss": {"task_prefix": True}})
    model.eval()
    assert len(rows) == 6  # step-by-step: a label row and a rationale row per example
    trainer = _trainer(model, tmp_path, is_seq2seq=True, label_ids=label_ids, label_head=True)
    _, parts = trainer.compute_loss(model, batch, return_outputs=True)
    has_label = torch.tensor([(torch.tensor(r["span_ids"]) == 1).any().item() for r in rows.rows])
    head_logits = encoder_label_logits(model, batch["input_ids"], batch["attention_mask"])[has_label]
    gold = torch.tensor([FMT.labels.index(ex.label) for ex in EXAMPLES])
    assert torch.allclose(parts["label_loss"], torch.nn.functional.cross_entropy(head_logits, gold), atol=1e-5)


def test_predictor_takes_the_label_from_the_head(tiny_seq2seq_dir):
    model, _, _, _, predictor = _setup(tiny_seq2seq_dir)
    head = model.rdistill_label_head
    with torch.no_grad():  # a head that always says "neutral", whatever the decoder would score
        head.classifier.weight.zero_()
        head.classifier.bias.copy_(torch.tensor([0.0, 5.0, 0.0]))
    records = predictor.predict(EXAMPLES)
    assert {r["pred_label"] for r in records} == {FMT.labels[1]}
    expected = torch.softmax(torch.tensor([0.0, 5.0, 0.0]), -1).tolist()
    assert records[0]["label_probs"][FMT.labels[1]] == pytest.approx(expected[1], abs=1e-5)
    assert all(isinstance(r["pred_explanation"], str) for r in records)


@pytest.mark.parametrize("finetune", ["full", "lora"])
def test_a_run_trains_the_head_saves_it_and_reloads_to_the_same_predictions(
        finetune, tiny_seq2seq_dir, esnli_file, tmp_path, toy_config):
    raw = _head_raw(toy_config, tiny_seq2seq_dir, esnli_file)
    if finetune == "lora":
        raw["finetune"] = {"mode": "lora", "r": 4, "alpha": 8, "target_modules": "all-linear"}
    out = tmp_path / "run"
    metrics = train(load_recipe(None, raw=raw), out, show_progress=False)
    folder = RunFolder(out)
    logged = [json.loads(x) for x in folder.metrics_log.read_text().splitlines()]
    labels = [r["loss_label"] for r in logged if "loss_label" in r]
    assert labels[0] < 2.0 and labels[-1] < labels[0]  # a 3-way head starts near ln 3 and learns
    assert json.loads((folder.student / "rdistill.json").read_text())["label_head"] == "encoder"
    assert (folder.student / LABEL_HEAD_FILE).is_file()
    if finetune == "full":  # the head lives in its own file, not among the model's weights
        with safe_open(str(folder.student / "model.safetensors"), "pt") as f:
            assert not any("label_head" in k for k in f.keys())
    saved = [json.loads(x) for x in folder.eval_metrics.with_suffix(".predictions.jsonl").read_text().splitlines()]
    assert metrics["n"] == len(saved) == 9
    model, tok, _, _ = load_student(out)
    cfg = load_recipe(folder.config)
    predictor = Predictor(model, tok, FMT, is_seq2seq=True, settings=PredictionSettings(),
                          generation=cfg.generation, show_progress=False)
    test = prepare_splits(cfg, None).test
    again = {r["uid"]: r for r in predictor.predict(test)}
    for row in saved:
        assert again[row["uid"]]["pred_label"] == row["pred_label"]
        for lab in FMT.labels:
            assert again[row["uid"]]["label_probs"][lab] == pytest.approx(row["label_probs"][lab], abs=1e-4)


def test_resume_restores_the_head_of_the_checkpoint(tiny_seq2seq_dir, esnli_file, tmp_path, toy_config,
                                                    monkeypatch):
    out = tmp_path / "run"
    raw = _head_raw(toy_config, tiny_seq2seq_dir, esnli_file, max_steps=4, save_steps=2)
    raw["data"]["dev_size"] = 0
    train(load_recipe(None, raw=raw), out, show_progress=False)
    checkpoint = out / "checkpoints" / "checkpoint-4"
    saved = load_file(str(checkpoint / LABEL_HEAD_FILE))
    loaded = []

    def spy(model, folder):
        head = real(model, folder)
        loaded.append((str(folder), head.classifier.weight.detach().clone()))
        return head

    real = trainer_module.load_label_head  # the trainer loads the head where it loads the student
    monkeypatch.setattr(trainer_module, "load_label_head", spy)
    raw["training"]["max_steps"] = 6
    train(load_recipe(None, raw=raw), out, resume=True, show_progress=False)
    assert loaded and loaded[0][0] == str(checkpoint)
    assert torch.equal(loaded[0][1], saved["classifier.weight"])


def test_resume_from_a_checkpoint_without_its_head_stops_naming_the_file(tiny_seq2seq_dir, esnli_file,
                                                                         tmp_path, toy_config):
    out = tmp_path / "run"
    raw = _head_raw(toy_config, tiny_seq2seq_dir, esnli_file, max_steps=4, save_steps=2)
    raw["data"]["dev_size"] = 0
    train(load_recipe(None, raw=raw), out, show_progress=False)
    (out / "checkpoints" / "checkpoint-4" / LABEL_HEAD_FILE).unlink()
    raw["training"]["max_steps"] = 6
    with pytest.raises(ModelError, match=f"checkpoint-4/{LABEL_HEAD_FILE} is missing"):
        train(load_recipe(None, raw=raw), out, resume=True, show_progress=False)


def test_settings_the_head_cannot_honour_are_refused_at_load():
    with pytest.raises(ConfigError, match="label_head.*label_softmax.*\n.*label_head.*explain_predict"):
        load_recipe(None, raw={"data": {"train_file": "x"}, "model": {"label_head": "encoder"},
                               "loss": {"label_softmax": "labels", "output_order": "explain_predict"}})
    with pytest.raises(ConfigError, match="label_head.*alpha: 0"):
        load_recipe(None, raw={"data": {"train_file": "x"}, "model": {"label_head": "encoder"},
                               "loss": {"alpha": 0.0}, "training": {"metric_for_best": "eval_loss"}})
    with pytest.raises(ConfigError, match="model.label_head.*gsm8k has no label set"):
        load_recipe(None, raw={"data": {"dataset": "gsm8k", "train_file": "x", "split_by": "row"},
                               "model": {"label_head": "encoder"}})
    with pytest.raises(ConfigError, match="model.label_head.*method 'coconut' trains no label words"):
        load_recipe("configs/coconut/prosqa-small-smollm2.yaml", ["model.label_head=encoder"])


def test_a_decoder_only_student_is_refused_before_training(tiny_causal_dir, esnli_file, tmp_path, toy_config):
    with pytest.raises(ConfigError, match="needs an encoder-decoder student"):
        train(load_recipe(None, raw=_head_raw(toy_config, tiny_causal_dir, esnli_file)), tmp_path / "run",
              show_progress=False)
    assert not (tmp_path / "run" / "checkpoints").exists()


def test_an_hf_export_carries_the_head_and_predicts_as_the_run(tiny_seq2seq_dir, esnli_file, tmp_path,
                                                                toy_config):
    run, export = tmp_path / "run", tmp_path / "export"
    train(load_recipe(None, raw=_head_raw(toy_config, tiny_seq2seq_dir, esnli_file, max_steps=6)), run,
          show_progress=False)
    assert main(["--quiet", "export", str(run), "--format", "hf", "--output", str(export)]) == 0
    assert (export / LABEL_HEAD_FILE).is_file()
    with safe_open(str(export / "model.safetensors"), "pt") as f:
        assert not any("label_head" in k for k in f.keys())
    for name, target in (("run", run), ("export", export)):
        assert main(["--quiet", "eval", str(target), "--data-file", str(esnli_file), "--no-judge",
                     "--output", str(tmp_path / f"{name}.json")]) == 0
    rows = {name: [json.loads(x) for x in (tmp_path / f"{name}.predictions.jsonl").read_text().splitlines()]
            for name in ("run", "export")}
    assert len(rows["run"]) == 60
    assert [r["pred_label"] for r in rows["export"]] == [r["pred_label"] for r in rows["run"]]
    for a, b in zip(rows["run"], rows["export"]):
        assert a["label_probs"] == pytest.approx(b["label_probs"], abs=1e-4)


def test_trainer_refuses_a_head_without_an_encoder_decoder(tiny_seq2seq_dir, tmp_path):
    model, _, label_ids, _, _ = _setup(tiny_seq2seq_dir)
    with pytest.raises(ValueError, match="encoder-decoder"):
        _trainer(model, tmp_path, is_seq2seq=False, label_ids=label_ids, label_head=True)
    with pytest.raises(ValueError, match="label_ids"):
        _trainer(model, tmp_path, is_seq2seq=True, label_head=True)
