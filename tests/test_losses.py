import math

import pytest
import torch
import torch.nn.functional as F

from rdistill.losses import label_set_cross_entropy, rationale_loss, span_mean, token_cross_entropy


def test_token_cross_entropy_matches_torch_and_zeroes_ignored():
    torch.manual_seed(0)
    logits = torch.randn(2, 3, 5)
    labels = torch.tensor([[1, -100, 4], [0, 2, -100]])
    got = token_cross_entropy(logits, labels)
    assert got.shape == (2, 3)
    assert got[0, 1] == 0 and got[1, 2] == 0
    expected = F.cross_entropy(logits[0, 0][None], labels[0, :1])
    assert torch.allclose(got[0, 0], expected)
    # mean over non-ignored equals torch's default reduction
    assert torch.allclose(got.sum() / 4, F.cross_entropy(logits.view(-1, 5), labels.view(-1)))


def test_uniform_logits_give_log_vocab():
    logits = torch.zeros(1, 2, 7)
    labels = torch.tensor([[3, 6]])
    assert torch.allclose(token_cross_entropy(logits, labels), torch.full((1, 2), math.log(7)))


def test_span_mean_hand_computed_and_empty_span_is_zero():
    losses = torch.tensor([[1.0, 2.0, 3.0], [4.0, 0.0, 0.0]])
    spans = torch.tensor([[0, 1, 2], [2, 0, 0]])
    assert span_mean(losses, spans, 1).item() == 2.0
    assert span_mean(losses, spans, 2).item() == 3.5  # (3 + 4) / 2
    assert span_mean(losses, spans, 5).item() == 0.0


def test_rationale_loss_weights_each_span_mean():
    losses = torch.tensor([[1.0, 2.0, 3.0], [4.0, 0.0, 0.0]])
    spans = torch.tensor([[0, 1, 2], [2, 0, 0]])
    loss, lab, expl = rationale_loss(losses, spans, alpha=0.5, beta=2.0)
    assert lab.item() == 2.0 and expl.item() == 3.5
    assert loss.item() == 0.5 * 2.0 + 2.0 * 3.5


def test_rationale_loss_invariant_to_padding():
    losses = torch.tensor([[1.0, 2.0, 3.0]])
    spans = torch.tensor([[1, 2, 2]])
    padded_l = torch.tensor([[1.0, 2.0, 3.0, 0.0, 0.0]])
    padded_s = torch.tensor([[1, 2, 2, 0, 0]])
    a = rationale_loss(losses, spans, alpha=1, beta=1)[0]
    b = rationale_loss(padded_l, padded_s, alpha=1, beta=1)[0]
    assert torch.equal(a, b)


def test_label_only_ignores_explanation_tokens_gradient():
    logits = torch.randn(1, 3, 4, requires_grad=True)
    labels = torch.tensor([[1, 2, 3]])
    spans = torch.tensor([[1, 2, 2]])
    loss, _, _ = rationale_loss(token_cross_entropy(logits, labels), spans, alpha=1.0, beta=0.0)
    loss.backward()
    assert logits.grad[0, 0].abs().sum() > 0
    assert logits.grad[0, 1:].abs().sum() == 0


def test_label_set_cross_entropy_is_a_softmax_over_the_label_columns_only():
    torch.manual_seed(0)
    logits = torch.randn(4, 10, requires_grad=True)
    label_ids = torch.tensor([7, 2, 5])
    targets = torch.tensor([2, 5, 7, 2])
    loss = label_set_cross_entropy(logits, targets, label_ids)
    by_hand = -torch.log_softmax(logits[:, [7, 2, 5]], dim=1)[torch.arange(4), torch.tensor([1, 2, 0, 1])].mean()
    assert torch.allclose(loss, by_hand)
    loss.backward()
    others = torch.ones(10, dtype=torch.bool)
    others[label_ids] = False
    assert (logits.grad[:, others] == 0).all() and (logits.grad[:, label_ids] != 0).all()
    # the rest of the vocabulary does not matter: a huge logit elsewhere changes nothing
    shifted = logits.detach().clone()
    shifted[:, 0] = 1e4
    assert torch.allclose(label_set_cross_entropy(shifted, targets, label_ids), by_hand.detach())


def test_label_set_cross_entropy_of_no_rows_is_zero_and_a_stray_target_is_named():
    empty = torch.zeros(0, 10, requires_grad=True)
    loss = label_set_cross_entropy(empty, torch.zeros(0, dtype=torch.long), torch.tensor([1, 2]))
    assert loss.item() == 0.0 and loss.requires_grad
    with pytest.raises(ValueError, match=r"\[9\].*first tokens: \[1, 2\]"):
        label_set_cross_entropy(torch.randn(2, 10), torch.tensor([1, 9]), torch.tensor([1, 2]))
