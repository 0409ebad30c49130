"""The encoder label head: pooling, attaching, saving and loading (``model.label_head: encoder``)."""

import pytest
import torch

from rdistill.errors import ModelError
from rdistill.models import apply_finetuning, load_model
from rdistill.models.label_head import (LABEL_HEAD_FILE, EncoderLabelHead, attach_label_head, encoder_label_logits,
                                        label_head_of, load_label_head, save_label_head, state_dict_without_head)


def test_head_pools_only_the_unmasked_states():
    head = EncoderLabelHead(4, 3, dropout=0.0).eval()
    hidden = torch.randn(2, 5, 4)
    mask = torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]])
    changed = hidden.clone()
    changed[0, 3:] = 100.0  # padding: must not move row 0's logits
    assert torch.allclose(head(hidden, mask), head(changed, mask))
    by_hand = head.classifier(hidden[0, :3].mean(0))
    assert torch.allclose(head(hidden, mask)[0], by_hand, atol=1e-6)


def test_attach_is_seeded_trainable_and_reaches_the_base_under_lora(tiny_seq2seq_dir):
    model, kind = load_model(tiny_seq2seq_dir)
    lora, _ = apply_finetuning(model, kind, "lora", r=4, alpha=8, dropout=0.0)
    head = attach_label_head(lora, 3, seed=5)
    assert label_head_of(lora) is head and label_head_of(lora.get_base_model()) is head
    assert all(p.requires_grad for p in head.parameters())
    other, _ = load_model(tiny_seq2seq_dir)
    assert torch.equal(attach_label_head(other, 3, seed=5).classifier.weight, head.classifier.weight)
    # the head survives the merge that prediction does
    merged = lora.merge_and_unload()
    assert label_head_of(merged) is head


def test_attach_refuses_a_model_without_an_encoder(tiny_causal_dir):
    model, _ = load_model(tiny_causal_dir)
    with pytest.raises(ModelError, match="encoder-decoder"):
        attach_label_head(model, 3)


def test_encoder_logits_save_and_load_round_trip(tiny_seq2seq_dir, tmp_path):
    model, _ = load_model(tiny_seq2seq_dir)
    attach_label_head(model, 3, seed=1)
    model.eval()
    ids = torch.tensor([[5, 6, 7, 1], [8, 9, 1, 0]])
    mask = (ids != 0).long()
    before = encoder_label_logits(model, ids, mask)
    assert before.shape == (2, 3)
    save_label_head(model, tmp_path)
    assert (tmp_path / LABEL_HEAD_FILE).is_file()
    assert not any("rdistill_label_head" in k for k in state_dict_without_head(model))
    fresh, _ = load_model(tiny_seq2seq_dir)
    assert state_dict_without_head(fresh) is None  # no head, nothing to leave out
    load_label_head(fresh, tmp_path)
    assert torch.allclose(encoder_label_logits(fresh.eval(), ids, mask), before)


def test_load_names_a_missing_or_broken_file(tiny_seq2seq_dir, tmp_path):
    model, _ = load_model(tiny_seq2seq_dir)
    with pytest.raises(ModelError, match=LABEL_HEAD_FILE):
        load_label_head(model, tmp_path)
    (tmp_path / LABEL_HEAD_FILE).write_bytes(b"not safetensors")
    with pytest.raises(ModelError, match="does not load"):
        load_label_head(model, tmp_path)
