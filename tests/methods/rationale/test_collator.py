import torch

from rdistill.methods.rationale.collator import RationaleCollator


def test_causal_padding_right_with_ignore_labels():
    rows = [{"input_ids": [5, 6, 7], "attention_mask": [1, 1, 1], "labels": [-100, 6, 7], "span_ids": [0, 1, 2]},
            {"input_ids": [5], "attention_mask": [1], "labels": [-100], "span_ids": [0]}]
    b = RationaleCollator(pad_token_id=0, is_seq2seq=False)(rows)
    assert b["input_ids"].tolist() == [[5, 6, 7], [5, 0, 0]]
    assert b["attention_mask"].tolist() == [[1, 1, 1], [1, 0, 0]]
    assert b["labels"][1].tolist() == [-100, -100, -100]
    assert b["span_ids"][1].tolist() == [0, 0, 0]
    assert "decoder_input_ids" not in b


def test_seq2seq_decoder_inputs_are_shifted_full_target():
    rows = [{"input_ids": [9, 8], "attention_mask": [1, 1], "labels": [-100, 4, 2],
             "decoder_input_tokens": [3, 4, 2], "span_ids": [0, 1, 1]}]
    b = RationaleCollator(pad_token_id=0, is_seq2seq=True, decoder_start_token_id=1)(rows)
    # the marker token 3 carries no loss but still feeds the decoder
    assert b["decoder_input_ids"].tolist() == [[1, 3, 4]]
    assert b["labels"].tolist() == [[-100, 4, 2]]
    assert b["decoder_attention_mask"].dtype == torch.long
