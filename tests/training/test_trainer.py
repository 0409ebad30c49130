"""The loss path of RationaleTrainer against a plain full-logits computation."""

import torch

from rdistill.methods.registry import load_recipe
from rdistill.data.example import Example
from rdistill.tasks.registry import get_task
from rdistill.models import apply_finetuning, load_model, load_tokenizer
from rdistill.methods.rationale.collator import RationaleCollator
from rdistill.methods.rationale.dataset import encode_examples
from rdistill.training.student_forward import TargetOnlyLM
from rdistill.training.trainer import dense_token_losses

FMT = get_task("esnli")


def _batch(tok, is_seq2seq):
    cfg = load_recipe(None, raw={"data": {"train_file": "x"}})
    exs = [Example(uid=str(i), fields={"premise": f"the dog {i} runs", "hypothesis": h}, label=lab,
                   explanations=(e,))
           for i, (h, lab, e) in enumerate([("an animal runs", "entailment", "a dog is an animal"),
                                            ("a cat sleeps now", "contradiction", "a dog is not a cat")])]
    rows = encode_examples(exs, cfg, FMT, tok, is_seq2seq=is_seq2seq, seed=0)
    return RationaleCollator(tok.pad_token_id, is_seq2seq, 0)(rows.rows)


def test_sparse_lm_head_equals_dense_losses_with_lora(tiny_causal_dir):
    torch.manual_seed(0)
    tok = load_tokenizer(tiny_causal_dir)
    model, kind = load_model(tiny_causal_dir)
    model, _ = apply_finetuning(model, kind, "lora", r=4, alpha=8, dropout=0.0)
    # make the adapter non-trivial so the test would notice it being bypassed
    for name, p in model.named_parameters():
        if "lora_B" in name:
            torch.nn.init.normal_(p, std=0.5)
    batch = _batch(tok, False)
    sparse = TargetOnlyLM(model)(batch["input_ids"], batch["attention_mask"], batch["labels"])["token_losses"]
    dense = dense_token_losses(model, batch, is_seq2seq=False)
    assert torch.allclose(sparse, dense, atol=1e-5)
    assert (dense[batch["labels"] == -100] == 0).all()
    # and equals the model's own mean CE over the target tokens
    ref = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], labels=batch["labels"]).loss
    assert torch.allclose(dense.sum() / (batch["labels"][:, 1:] != -100).sum(), ref, atol=1e-5)


def test_seq2seq_dense_losses_match_model_loss(tiny_seq2seq_dir):
    tok = load_tokenizer(tiny_seq2seq_dir)
    model, _ = load_model(tiny_seq2seq_dir)
    batch = _batch(tok, True)
    losses = dense_token_losses(model, batch, is_seq2seq=True)
    out = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                decoder_input_ids=batch["decoder_input_ids"], labels=batch["labels"])
    assert torch.allclose(losses.sum() / (batch["labels"] != -100).sum(), out.loss, atol=1e-5)


def test_base_logs_each_term_as_a_mean_of_tensors(tmp_path, monkeypatch):
    """Terms stay tensors until a log step (no host sync per step); token means and step means."""
    from transformers import TrainingArguments

    from rdistill.training.trainer import DistillTrainer

    args = TrainingArguments(output_dir=str(tmp_path), report_to=[], use_cpu=True)
    trainer = DistillTrainer(model=torch.nn.Linear(2, 2), args=args)
    model = trainer.model.train()
    trainer.log_term(model, "loss_label", torch.tensor(6.0), torch.tensor(3))  # 3 tokens, sum 6
    trainer.log_term(model, "loss_label", torch.tensor(2.0), torch.tensor(1))  # 1 token, sum 2
    trainer.log_term(model, "loss_task", torch.tensor(0.5))  # a step mean
    trainer.log_term(model, "loss_task", torch.tensor(1.5))
    assert all(isinstance(v, torch.Tensor) for values in trainer._terms.values() for v in values)
    seen = {}
    monkeypatch.setattr(type(trainer).__mro__[1], "log", lambda self, logs, *a, **k: seen.update(logs))
    trainer.log({"loss": 1.0})
    assert seen == {"loss": 1.0, "loss_label": 2.0, "loss_task": 1.0}  # 8 / 4 tokens; (0.5 + 1.5) / 2
    assert not trainer._terms
