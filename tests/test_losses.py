import math

import torch
import torch.nn.functional as F

from rdistill.losses import rationale_loss, span_mean, token_cross_entropy


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
