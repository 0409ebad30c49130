"""Curriculum layout per stage: which steps become thoughts, labels, positions, config checks."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from rdistill.errors import DataError
from rdistill.losses import IGNORE_INDEX
from rdistill.methods.coconut.config import CoconutConfig
from rdistill.methods.coconut.curriculum import answer_from_text, encode_row, stage_rows

STEPS = ("a", "b", "c")


@pytest.mark.parametrize("stage, thoughts, remaining", [
    (0, 0, ("a", "b", "c")), (1, 2, ("b", "c")), (2, 4, ("c",)), (3, 6, ()),
])
def test_stage_k_replaces_first_k_steps_by_k_times_c_thoughts(stage, thoughts, remaining):
    row = stage_rows(STEPS, stage, 2)
    assert (row.n_thoughts, row.remaining, row.n_replaced) == (thoughts, remaining, len(STEPS) - len(remaining))


def test_rows_with_fewer_steps_get_fewer_thoughts_unless_padded():
    assert stage_rows(("a",), 2, 3).n_thoughts == 3
    assert stage_rows(("a",), 2, 3).remaining == ()
    assert stage_rows(("a",), 2, 3, pad_thoughts_to_max=True).n_thoughts == 6
    assert stage_rows((), 2, 3).n_thoughts == 0


def test_last_stage_replaces_every_step_with_at_most_max_stage_times_c_thoughts():
    five = ("a", "b", "c", "d", "e")
    last = stage_rows(five, 2, 1, max_stage=2)
    assert (last.n_thoughts, last.remaining) == (2, ())  # steps c, d, e dropped without extra thoughts
    assert stage_rows(five, 1, 1, max_stage=2).remaining == ("b", "c", "d", "e")
    assert stage_rows(five, 7, 1, max_stage=2) == last  # stages past the last stay all-latent
    assert stage_rows(("a",), 2, 2, max_stage=2).n_thoughts == 2
    assert stage_rows(("a",), 2, 2, max_stage=2, pad_thoughts_to_max=True).n_thoughts == 4


def test_encode_row_layout_and_labels(coconut_student):
    _, tokenizer, tokens = coconut_student
    question = "two dogs and 3 cats are playing, how many?"
    steps = ("the dogs are two", "the cats are 3", "so 2 + 3 = 5")
    rows = {k: encode_row(tokenizer, question, steps, "5", k, 2, tokens=tokens, max_stage=3) for k in range(4)}
    q = tokenizer(question + "\n")["input_ids"]
    for k, row in rows.items():
        n = 2 * k
        assert row.bot_index == len(q) and row.input_ids[:len(q)] == q
        assert row.input_ids[len(q):len(q) + n + 2] == [tokens.bot_id] + [tokens.latent_id] * n + [tokens.eot_id]
        assert row.thought_positions == list(range(len(q) + 1, len(q) + 1 + n))
        assert row.labels[:len(q) + n + 2] == [IGNORE_INDEX] * (len(q) + n + 2)
        assert row.labels[len(q) + n + 2:] == row.input_ids[len(q) + n + 2:]
        assert row.input_ids[-1] == tokenizer.eos_token_id
        tail = tokenizer.decode(row.input_ids[len(q) + n + 2:], skip_special_tokens=True)
        assert answer_from_text(tail) == "5"
        assert ("cats are 3" in tail) == (k < 2)
    # a step keeps the same ids at every stage: stage 1's tail is stage 0's tail minus the first step
    assert rows[0].input_ids[-len(rows[1].input_ids[len(q) + 4:]):] == rows[1].input_ids[len(q) + 4:]


def test_encode_row_truncates_targets_only(coconut_student):
    _, tokenizer, tokens = coconut_student
    full = encode_row(tokenizer, "how many?", ("a b c d e f",), "7", 1, 2, tokens=tokens)
    row = encode_row(tokenizer, "how many?", ("a b c d e f",), "7", 1, 2, tokens=tokens,
                     max_length=full.bot_index + 6)
    assert row.input_ids == full.input_ids[:full.bot_index + 6] and row.thought_positions == full.thought_positions
    with pytest.raises(DataError, match="max_length"):
        encode_row(tokenizer, "how many dogs are there?", ("a",), "7", 1, 4, tokens=tokens, max_length=5)


def test_answer_from_text():
    assert answer_from_text("step one\n### 42") == "42"
    assert answer_from_text("# # # 7") == "7"
    assert answer_from_text("no marker") is None


def test_config_rejects_unknown_keys_and_conflicts():
    assert CoconutConfig().curriculum().stages == range(4)
    with pytest.raises(ValidationError, match="c_thought"):
        CoconutConfig(c_thought=2)
    with pytest.raises(ValidationError, match="last_stage_epochs"):
        CoconutConfig(steps_per_stage=3, last_stage_epochs=2)
    curriculum = CoconutConfig(max_stage=2, epochs_per_stage=1, last_stage_epochs=5).curriculum()
    assert curriculum.stage_length(1) == {"num_train_epochs": 1, "max_steps": -1}
    assert curriculum.stage_length(2) == {"num_train_epochs": 5, "max_steps": -1}
    assert CoconutConfig(steps_per_stage=4).curriculum().stage_length(0) == {"max_steps": 4}
    assert CoconutConfig(max_stage=3, c_thoughts=2).inference_thoughts() == 6
