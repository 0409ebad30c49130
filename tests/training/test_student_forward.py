"""TargetOnlyLM (the target-only LM head as a module) against the function it replaced, alone and
inside DistributedDataParallel (one gloo process in this test process): same losses, same grads."""

import os
import socket

import pytest
import torch
import torch.distributed as dist

from rdistill.losses import IGNORE_INDEX, token_cross_entropy
from rdistill.models import apply_finetuning, load_model
from rdistill.models.heads import causal_hidden, lm_head
from rdistill.training.student_forward import TargetOnlyLM


def previous_sparse_losses(model, input_ids, attention_mask, labels):
    """``training.trainer.sparse_causal_token_losses`` as it was before the module (the reference)."""
    hidden = causal_hidden(model, input_ids, attention_mask)
    targets = labels[:, 1:]
    where = targets != IGNORE_INDEX
    logits = lm_head(model, hidden[:, :-1][where])
    losses = torch.zeros_like(labels, dtype=torch.float32)
    losses[:, 1:][where] = token_cross_entropy(logits, targets[where])
    return losses


def _student(tiny_causal_dir):
    torch.manual_seed(0)
    model, kind = load_model(tiny_causal_dir)
    model, _ = apply_finetuning(model, kind, "lora", r=4, alpha=8, dropout=0.0)
    for name, p in model.named_parameters():
        if "lora_B" in name:  # a non-trivial adapter: the test notices it being bypassed
            torch.nn.init.normal_(p, std=0.5)
    return model


def _batch(vocab: int):
    g = torch.Generator().manual_seed(1)
    input_ids = torch.randint(3, vocab, (3, 12), generator=g)
    attention_mask = torch.ones_like(input_ids)
    attention_mask[0, :4] = 0  # a left-padded row
    labels = input_ids.clone()
    labels[:, :7] = IGNORE_INDEX  # the prompt
    labels[0, :4] = IGNORE_INDEX
    labels[2, 10:] = IGNORE_INDEX
    return input_ids, attention_mask, labels


def _losses_and_grads(model, fn):
    model.zero_grad()
    input_ids, attention_mask, labels = _batch(model.config.vocab_size)
    losses = fn(input_ids, attention_mask, labels)
    (losses.sum() / (labels[:, 1:] != IGNORE_INDEX).sum()).backward()
    grads = {n: p.grad.clone() for n, p in model.named_parameters() if p.requires_grad}
    return losses.detach(), grads


def _assert_same(a, b):
    (losses_a, grads_a), (losses_b, grads_b) = a, b
    assert torch.allclose(losses_a, losses_b, atol=1e-6)
    assert grads_a.keys() == grads_b.keys() and grads_a
    for name in grads_a:
        assert torch.allclose(grads_a[name], grads_b[name], atol=1e-6), name


def test_module_equals_previous_function_losses_and_grads(tiny_causal_dir):
    model = _student(tiny_causal_dir)
    reference = _losses_and_grads(model, lambda *b: previous_sparse_losses(model, *b))
    head = TargetOnlyLM(model)
    out = head(*_batch(model.config.vocab_size), output_hidden_states=True)
    assert out["target_logits"].shape[0] == int((_batch(model.config.vocab_size)[2][:, 1:] != -100).sum())
    assert len(out["hidden_states"]) == model.config.num_hidden_layers + 1
    _assert_same(reference, _losses_and_grads(model, lambda *b: head(*b)["token_losses"]))
    assert reference[0][:, :7].eq(0).all() and reference[0][1, 7:].gt(0).all()  # prompt vs target
    # the module adds no parameter of its own: its state is the student's
    assert [n for n, _ in head.named_parameters()] == [f"student.{n}" for n, _ in model.named_parameters()]


@pytest.fixture
def one_rank_group():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=0, world_size=1)
    yield
    dist.destroy_process_group()


def test_module_under_ddp_equals_previous_function(tiny_causal_dir, one_rank_group):
    """Called through DDP's forward (what several processes do), the module gives the same
    losses and grads: DDP's reducer ran (its hooks fired), nothing else changed."""
    model = _student(tiny_causal_dir)
    reference = _losses_and_grads(model, lambda *b: previous_sparse_losses(model, *b))
    wrapped = torch.nn.parallel.DistributedDataParallel(TargetOnlyLM(model))
    _assert_same(reference, _losses_and_grads(model, lambda *b: wrapped(*b)["token_losses"]))
