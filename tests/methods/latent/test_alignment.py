"""Projection shapes and saving; token alignment by character offsets across two tokenizers."""

import pytest
import torch
from transformers import AutoTokenizer

from rdistill.methods.latent.projection import PROJECTION_FILE, LayerProjection, make_projection
from rdistill.tasks.latent_layout import encode_latent, latent_text
from rdistill.methods.latent.token_alignment import align_teacher, overlap_matrix


def test_projection_shapes_and_round_trip(tmp_path):
    assert make_projection(2, 32, 32) is None  # same size: identity, nothing to learn
    proj = make_projection(3, 32, 48)
    assert isinstance(proj, LayerProjection)
    assert proj(torch.randn(3, 5, 32)).shape == (3, 5, 48)
    proj.save(tmp_path)
    assert (tmp_path / PROJECTION_FILE).is_file()
    other = LayerProjection(3, 32, 48)
    other.load(tmp_path)
    x = torch.randn(3, 2, 32)
    assert torch.equal(other(x), proj(x))


def test_overlap_matrix_by_hand():
    student = torch.tensor([[0, 5], [5, 6], [7, 7]])
    teacher = torch.tensor([[0, 2], [2, 5], [5, 6]])
    w = overlap_matrix(student, teacher)
    assert w.tolist() == [[0.5, 0.5, 0.0], [0.0, 0.0, 1.0], [0.0, 0.0, 0.0]]
    hidden = torch.tensor([[[2.0]], [[4.0]], [[10.0]]])  # (T=3, L=1, H=1)
    aligned, ok = align_teacher(student, hidden, teacher)
    assert aligned[:, 0, 0].tolist() == [3.0, 10.0, 0.0]
    assert ok.tolist() == [True, True, False]


def test_identical_offsets_are_passed_through():
    off = torch.tensor([[0, 3], [3, 4]])
    hidden = torch.randn(2, 2, 4)
    aligned, ok = align_teacher(off, hidden, off)
    assert aligned is hidden and ok.all()


def test_alignment_between_two_different_tokenizers(tiny_causal_dir, tiny_other_dir, examples):
    teacher_tok = AutoTokenizer.from_pretrained(tiny_causal_dir)
    student_tok = AutoTokenizer.from_pretrained(tiny_other_dir)
    text = latent_text(examples[3])
    full = text.prompt + text.target
    t_row = encode_latent(text, teacher_tok, max_prompt_tokens=64, max_target_tokens=64)
    s_row = encode_latent(text, student_tok, max_prompt_tokens=64, max_target_tokens=64)
    t_pos, s_pos = t_row["target_positions"], s_row["target_positions"]
    assert len(t_pos) != len(s_pos)  # the vocabularies really split the text differently
    t_off = torch.tensor([t_row["offsets"][p] for p in t_pos])
    s_off = torch.tensor([s_row["offsets"][p] for p in s_pos])
    # teacher "hidden state" = the token's start character, so the alignment can be read back
    hidden = t_off[:, :1].float()[:, None, :]  # (T, 1, 1)
    aligned, ok = align_teacher(s_off, hidden, t_off)
    assert ok.all()  # every student text token overlaps some teacher token
    for (s0, s1), value in zip(s_off.tolist(), aligned[:, 0, 0].tolist()):
        covering = [a for a, b in t_off.tolist() if a < s1 and s0 < b]
        assert value == pytest.approx(sum(covering) / len(covering))
        assert full[s0:s1].strip()  # offsets point into the shared text
    # the answer span is found by characters in both tokenisations
    answer = examples[3].label
    assert "".join(full[a:b] for a, b in (t_row["offsets"][p] for p in t_row["answer_positions"])) == answer
    assert "".join(full[a:b] for a, b in (s_row["offsets"][p] for p in s_row["answer_positions"])) == answer
