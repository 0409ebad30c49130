"""Math targets: layout, spans, truncation; and e-SNLI encodings pinned byte for byte."""

import hashlib
import json

from rdistill.data.example import Example
from rdistill.tasks.layout import SPAN_EXPLANATION, SPAN_LABEL, SPAN_NONE, encode_row
from rdistill.tasks.math_layout import math_prompt
from rdistill.tasks.registry import get_task

GSM = get_task("gsm8k")
AQUA = get_task("aqua")
EX = Example(uid="1", fields={"question": "Ann has 2 cats and gets 3 more. How many?"}, label="5",
             explanations=("2 + 3 = 5\nSo 5 cats.",))


def _row(fmt=GSM, explanations=("2 + 3 = 5\nSo 5 cats.",), with_explanation=True, example=EX):
    (row,) = fmt.training_rows(example, list(explanations), with_label=True,
                           with_explanation=with_explanation, order="predict_explain", task_prefix=False)
    return row


def test_chain_of_thought_layout_and_spans():
    row = _row()
    assert "".join(p for p, _ in row.pieces) == "Answer: 2 + 3 = 5\nSo 5 cats.\n#### 5"
    assert [s for _, s in row.pieces] == [SPAN_NONE, SPAN_EXPLANATION, SPAN_EXPLANATION, SPAN_LABEL]
    assert row.ends_with_eos_span == SPAN_LABEL
    assert row.prompt == ("Question: Ann has 2 cats and gets 3 more. How many?\n"
                          "Solve the problem; give the final answer as a number.\n")


def test_answer_only_layout():
    row = _row(with_explanation=False)
    assert row.pieces == (("Answer:", SPAN_NONE), (" 5", SPAN_LABEL))


def test_aqua_prompt_lists_the_options():
    ex = Example(uid="a", fields={"question": "3 + 4?", "options": "A) 6\nB) 7"}, label="B")
    assert math_prompt("choice", ex) == ("Question: 3 + 4?\nOptions:\nA) 6\nB) 7\n"
                                       "Solve the problem; give the letter of the correct option.\n")
    assert _row(AQUA, ["3 + 4 = 7"], example=ex).pieces[-1] == (" B", SPAN_LABEL)


def test_encoded_spans_decode_to_reasoning_and_answer(tiny_causal_tokenizer):
    tok = tiny_causal_tokenizer
    enc = encode_row(_row(), tok, is_seq2seq=False, max_source_tokens=200, max_target_tokens=200)
    expl = [t for t, s in zip(enc["input_ids"], enc["span_ids"]) if s == SPAN_EXPLANATION]
    label = [t for t, s in zip(enc["input_ids"], enc["span_ids"]) if s == SPAN_LABEL]
    # (this tokenizer drops line breaks, as BERT's does; SmolLM2's keeps them)
    assert "".join(tok.decode(expl).split()) == "2+3=5so5cats.####"
    assert label[-1] == tok.eos_token_id and tok.decode(label[:-1]).strip() == "5"


def test_truncation_cuts_the_reasoning_not_the_end_marker_or_answer(tiny_causal_tokenizer):
    tok = tiny_causal_tokenizer
    long_reasoning = "2 + 3 = 5 and " * 30 + "done"
    enc = encode_row(_row(explanations=[long_reasoning]), tok, is_seq2seq=False,
                     max_source_tokens=200, max_target_tokens=24)
    target = [t for t, lab in zip(enc["input_ids"], enc["labels"]) if lab != -100]
    assert len(target) + len(tok("Answer:", add_special_tokens=False)["input_ids"]) == 24
    tail = tok.decode(target[-6:])
    assert "####" in tail.replace(" ", "") and target[-1] == tok.eos_token_id
    assert tok.decode([t for t, s in zip(enc["input_ids"], enc["span_ids"]) if s == SPAN_LABEL][:-1]).strip() == "5"
    assert enc["truncated"] == 1


# ---- e-SNLI stays byte-identical -----------------------------------------------------------------
ESNLI = get_task("esnli")
ESNLI_EX = Example(uid="e", fields={"premise": "A dog runs in the park.", "hypothesis": "An animal is outside."},
                   label="entailment", explanations=("A dog is an animal and a park is outside.",))
# sha256 of the encodings below, computed with formatting.py as it was before math tasks
# (commit 6f0351d) and fixed_vocab_tokenizer(): any change to e-SNLI rows shows here.
ESNLI_PIN = "7781c6c6ef88eb4aaa06eb0ca0fde180bc32aad9b4ba9bb479770f3392101dcf"


def fixed_vocab_tokenizer():
    """A WordPiece tokenizer from a fixed vocabulary: the same ids in every process
    (the conftest tokenizers are trained, and their ids vary between processes)."""
    import string

    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    words = ("premise hypothesis does the entail contradict or is it neutral to entailment contradiction "
             "answer explanation a dog runs in park an animal outside and label rationale").split()
    chars = list(string.ascii_lowercase + string.digits + string.punctuation)
    tokens = ["[PAD]", "[UNK]", "[BOS]", "[EOS]", *words, *chars, *("##" + c for c in chars), "\n"]
    vocab = {t: i for i, t in enumerate(dict.fromkeys(tokens))}
    backend = Tokenizer(models.WordPiece(vocab=vocab, unk_token="[UNK]"))
    backend.normalizer = normalizers.BertNormalizer(lowercase=True)
    backend.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    backend.decoder = decoders.WordPiece()
    return PreTrainedTokenizerFast(tokenizer_object=backend, pad_token="[PAD]", unk_token="[UNK]",
                                   bos_token="[BOS]", eos_token="[EOS]")


def esnli_encodings(tokenizer) -> tuple[str, int]:
    out = []
    for order in ("predict_explain", "explain_predict"):
        for kw in (dict(with_explanation=True, task_prefix=False), dict(with_explanation=False, task_prefix=False),
                   dict(with_explanation=True, task_prefix=True)):
            rows = ESNLI.training_rows(ESNLI_EX, list(ESNLI_EX.explanations), with_label=True, order=order, **kw)
            for row in rows:
                for seq2seq in (False, True):
                    for max_target in (200, 9):  # 9: the explanation is truncated
                        out.append(encode_row(row, tokenizer, is_seq2seq=seq2seq, max_source_tokens=200,
                                              max_target_tokens=max_target))
    digest = hashlib.sha256(json.dumps(out, sort_keys=True).encode()).hexdigest()
    return digest, sum(row["truncated"] for row in out)


def test_esnli_rows_are_byte_identical():
    digest, n_truncated = esnli_encodings(fixed_vocab_tokenizer())
    assert n_truncated > 0  # the pin covers the truncation path, which math targets changed
    assert digest == ESNLI_PIN
