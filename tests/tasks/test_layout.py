from rdistill.data.example import Example
from rdistill.tasks.layout import SPAN_EXPLANATION, SPAN_LABEL, SPAN_NONE, encode_prompt, encode_row
from rdistill.tasks.registry import get_task

FMT = get_task("esnli")
EX = Example(uid="1", fields={"premise": "A dog runs.", "hypothesis": "An animal moves."},
             label="entailment", explanations=("A dog is an animal.",))


def _rows(**kw):
    base = dict(with_label=True, with_explanation=True, order="predict_explain", task_prefix=False)
    base.update(kw)
    return FMT.training_rows(EX, ["A dog is an animal."], **base)


def test_predict_explain_layout_and_spans():
    (row,) = _rows()
    text = "".join(p for p, _ in row.pieces)
    assert text == "Answer: entailment\nExplanation: A dog is an animal."
    assert [s for _, s in row.pieces] == [SPAN_NONE, SPAN_LABEL, SPAN_EXPLANATION]
    assert row.ends_with_eos_span == SPAN_EXPLANATION


def test_explain_predict_puts_label_last():
    (row,) = _rows(order="explain_predict")
    assert "".join(p for p, _ in row.pieces) == "Explanation: A dog is an animal.\nAnswer: entailment"
    assert row.ends_with_eos_span == SPAN_LABEL


def test_label_only_has_no_explanation():
    (row,) = _rows(with_explanation=False)
    assert all(s != SPAN_EXPLANATION for _, s in row.pieces)


def test_step_by_step_makes_two_prefixed_tasks():
    rows = _rows(task_prefix=True)
    assert [r.task_prefix for r in rows] == ["[label] ", "[rationale] "]
    assert [s for _, s in rows[0].pieces] == [SPAN_NONE, SPAN_LABEL]
    # the explanation marker starts the target: the predictor supplies it, so no loss on it
    assert [s for _, s in rows[1].pieces] == [SPAN_NONE, SPAN_EXPLANATION]


def test_multiple_targets_make_multiple_rows():
    rows = FMT.training_rows(EX, ["one.", "two."], with_label=True, with_explanation=True,
                         order="predict_explain", task_prefix=False)
    assert len(rows) == 2


def test_encode_causal_row_masks_prompt_and_tags_spans(tiny_causal_tokenizer):
    tok = tiny_causal_tokenizer
    (row,) = _rows()
    enc = encode_row(row, tok, is_seq2seq=False, max_source_tokens=200, max_target_tokens=200)
    n = len(enc["input_ids"])
    assert len(enc["labels"]) == len(enc["span_ids"]) == len(enc["attention_mask"]) == n
    label_positions = [i for i, s in enumerate(enc["span_ids"]) if s == SPAN_LABEL]
    assert tok.decode([enc["input_ids"][i] for i in label_positions]).strip() == "entailment"
    assert enc["input_ids"][-1] == tok.eos_token_id and enc["span_ids"][-1] == SPAN_EXPLANATION
    # labels are the inputs wherever a span is set, -100 elsewhere (prompt and marker)
    for t, lab, s in zip(enc["input_ids"], enc["labels"], enc["span_ids"]):
        assert lab == (t if s != SPAN_NONE else -100)


def test_encode_seq2seq_row_keeps_markers_as_decoder_inputs(tiny_causal_tokenizer):
    tok = tiny_causal_tokenizer
    (row,) = _rows()
    enc = encode_row(row, tok, is_seq2seq=True, max_source_tokens=200, max_target_tokens=200)
    assert len(enc["decoder_input_tokens"]) == len(enc["labels"]) == len(enc["span_ids"])
    assert -100 in enc["labels"]  # the "Answer:" marker carries no loss
    assert -100 not in enc["decoder_input_tokens"]


def test_prompt_truncated_from_the_left_keeps_the_end(tiny_causal_tokenizer):
    tok = tiny_causal_tokenizer
    long = "word " * 300 + "final question"
    ids = encode_prompt(long, tok, is_seq2seq=False, max_tokens=16)
    assert len(ids) <= 16
    assert tok.decode(ids).strip().endswith("final question")


def test_long_explanation_is_shortened_keeping_label_and_eos(tiny_causal_tokenizer):
    tok = tiny_causal_tokenizer
    for order in ("predict_explain", "explain_predict"):
        (row,) = FMT.training_rows(EX, ["because " * 80], with_label=True, with_explanation=True,
                               order=order, task_prefix=False)
        enc = encode_row(row, tok, is_seq2seq=False, max_source_tokens=200, max_target_tokens=20)
        spans = enc["span_ids"]
        assert enc["truncated"] == 1
        assert sum(s != SPAN_NONE for s in spans) + spans.count(SPAN_NONE) - len(spans) == 0
        label_ids = [t for t, s in zip(enc["input_ids"], spans) if s == SPAN_LABEL]
        assert tok.decode(label_ids).replace(tok.eos_token, "").strip() == "entailment"
        assert enc["input_ids"][-1] == tok.eos_token_id


def test_task_prefix_survives_prompt_truncation(tiny_causal_tokenizer):
    tok = tiny_causal_tokenizer
    ids = encode_prompt("word " * 300, tok, is_seq2seq=False, max_tokens=16, prefix="[label] ")
    assert len(ids) <= 16
    assert tok.decode(ids).startswith("[label]") or "[ label ]" in tok.decode(ids)


def test_multiline_rationale_becomes_one_line():
    (row,) = FMT.training_rows(EX, ["first line\nsecond   line"], with_label=True, with_explanation=True,
                           order="predict_explain", task_prefix=False)
    assert row.pieces[-1][0] == "\nExplanation: first line second line"
