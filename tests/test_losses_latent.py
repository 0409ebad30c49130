"""Hidden-state and logit-KD losses against values worked out by hand."""

import math

import pytest
import torch
import torch.nn.functional as F

from rdistill.losses import hidden_state_loss, kl_divergence_full, kl_divergence_topk

S = torch.tensor([[[1.0, 2.0], [3.0, 4.0]]])  # (M=1, N=2, H=2)
T = torch.tensor([[[0.0, 0.0], [3.0, 2.0]]])
ALL = torch.tensor([1, 1])


def test_mse_by_hand_and_masking():
    # rows: ((1)^2 + 2^2)/2 = 2.5 and (0 + 2^2)/2 = 2.0
    loss, per_layer = hidden_state_loss(S, T, ALL, "mse")
    assert loss.item() == pytest.approx(2.25)
    assert per_layer.shape == (1,)
    assert hidden_state_loss(S, T, torch.tensor([1, 0]), "mse")[0].item() == pytest.approx(2.5)


def test_smooth_l1_by_hand():
    # |d| = 1, 2 -> 0.5, 1.5 (|d| >= beta: |d| - 0.5); |d| = 0, 2 -> 0, 1.5; means 1.0 and 0.75
    assert hidden_state_loss(S, T, ALL, "smooth_l1")[0].item() == pytest.approx(0.875)


def test_cosine_by_hand():
    s = torch.tensor([[[1.0, 0.0], [1.0, 1.0]]])
    t = torch.tensor([[[0.0, 1.0], [2.0, 2.0]]])
    # orthogonal -> 1, parallel -> 0
    assert hidden_state_loss(s, t, ALL, "cosine")[0].item() == pytest.approx(0.5)


def test_normalized_mse_by_hand():
    # teacher values 0, 0, 3, 2: mean 1.25, E[x^2] 3.25, var 1.6875; mse 2.25
    assert hidden_state_loss(S, T, ALL, "normalized_mse")[0].item() == pytest.approx(2.25 / 1.6875, rel=1e-5)


def test_averaged_over_layer_pairs_and_teacher_detached():
    s = torch.cat([S, T]).requires_grad_(True)  # layer 2 of the student equals the teacher
    t = torch.cat([T, T]).requires_grad_(True)
    loss, per_layer = hidden_state_loss(s, t, ALL, "mse")
    assert per_layer.tolist() == pytest.approx([2.25, 0.0])
    assert loss.item() == pytest.approx(1.125)
    loss.backward()
    assert t.grad is None and s.grad is not None


def test_empty_mask_gives_zero_and_unknown_kind_fails():
    assert hidden_state_loss(S, T, torch.tensor([0, 0]), "mse")[0].item() == 0.0
    with pytest.raises(ValueError, match="mse, smooth_l1"):
        hidden_state_loss(S, T, ALL, "l3")


TEACHER = torch.tensor([[0.0, math.log(3.0)]])  # p_T = (0.25, 0.75)
STUDENT = torch.zeros(1, 2)  # p_S = (0.5, 0.5)


def test_kl_full_forward_reverse_by_hand():
    fwd = 0.25 * math.log(0.25 / 0.5) + 0.75 * math.log(0.75 / 0.5)
    rev = 0.5 * math.log(0.5 / 0.25) + 0.5 * math.log(0.5 / 0.75)
    assert kl_divergence_full(STUDENT, TEACHER).item() == pytest.approx(fwd)
    assert kl_divergence_full(STUDENT, TEACHER, direction="reverse").item() == pytest.approx(rev)
    # T = 2 on doubled teacher logits gives the same p_T; the result is scaled by T^2
    assert kl_divergence_full(STUDENT, 2 * TEACHER, temperature=2.0).item() == pytest.approx(4 * fwd)


def test_kl_full_matches_torch_kl_div():
    torch.manual_seed(0)
    s, t = torch.randn(5, 7), torch.randn(5, 7)
    ref = F.kl_div(F.log_softmax(s, -1), F.log_softmax(t, -1), log_target=True, reduction="batchmean")
    assert kl_divergence_full(s, t).item() == pytest.approx(ref.item(), rel=1e-5)


def test_kl_topk_by_hand():
    student = torch.zeros(1, 4)  # p_S = 0.25 each: buckets (0.25, rest 0.75)
    top = torch.tensor([[math.log(0.5)]])
    ids = torch.tensor([[2]])
    # teacher buckets (0.5, 0.5)
    assert kl_divergence_topk(student, top, ids).item() == pytest.approx(
        0.5 * math.log(0.5 / 0.25) + 0.5 * math.log(0.5 / 0.75))
    # stored rest mass 0.4 is used as given
    assert kl_divergence_topk(student, top, ids, teacher_rest_logmass=torch.tensor([math.log(0.4)])).item() \
        == pytest.approx(0.5 * math.log(0.5 / 0.25) + 0.4 * math.log(0.4 / 0.75), rel=1e-5)
    # reverse: p_S log(p_S / p_T) over the buckets
    assert kl_divergence_topk(student, top, ids, direction="reverse").item() == pytest.approx(
        0.25 * math.log(0.25 / 0.5) + 0.75 * math.log(0.75 / 0.5), rel=1e-5)


def test_kl_topk_with_all_tokens_equals_full_kl():
    torch.manual_seed(1)
    s, t = torch.randn(3, 6), torch.randn(3, 6)
    logprobs, ids = F.log_softmax(t / 2.0, -1).topk(6, dim=-1)
    full = kl_divergence_full(s, t, temperature=2.0)
    assert kl_divergence_topk(s, logprobs, ids, temperature=2.0).item() == pytest.approx(full.item(), abs=1e-4)
