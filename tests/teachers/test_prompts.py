import pytest

from rdistill.data.example import Example, TeacherRationale
from rdistill.errors import ConfigError, DataError
from rdistill.teachers.config import TASKS
from rdistill.teachers.prompts import load_template, render, select_shots, shot_rationale, shots_for


def _ex(uid, label="neutral", expl=("it may be",), rationales=()):
    return Example(uid=uid, fields={"premise": f"p{uid}", "hypothesis": f"h{uid}"}, label=label,
                   explanations=expl, rationales=rationales)


@pytest.mark.parametrize("task", TASKS)
def test_every_task_has_a_packaged_template(task):
    t = load_template(task)
    assert t.instruction and "{rationale}" in t.output and t.cue


def test_render_chat_and_text_forms():
    shot = _ex("1", "entailment", ("a dog is an animal",))
    prompt = render(load_template("esnli"), _ex("9"), [shot])
    roles = [m["role"] for m in prompt.messages]
    assert roles == ["system", "user", "assistant", "user"]
    assert prompt.messages[2]["content"] == "Reasonings: a dog is an animal\nAnswer: entailment"
    assert prompt.messages[3]["content"] == "Premise: p9\nHypothesis: h9"
    assert prompt.text.endswith("Premise: p1\nHypothesis: h1\nReasonings: a dog is an animal\nAnswer: entailment"
                                "\n\nPremise: p9\nHypothesis: h9\nReasonings:")


def test_cqa_shot_names_the_choice_letter():
    shot = Example(uid="1", fields={"question": "q?", "choices": "park\ngarden\nmath problem"},
                   label="math problem", explanations=("counting",))
    query = Example(uid="2", fields={"question": "r?", "choices": "a\nb"}, label="a")
    prompt = render(load_template("cqa"), query, [shot])
    assert prompt.messages[2]["content"] == "A: counting So the answer is (c) math problem."


def test_shot_rationale_falls_back_to_a_gold_matching_teacher():
    wrong = TeacherRationale("palm", "wrong one", "entailment")
    right = TeacherRationale("palm", "right one", "neutral")
    assert shot_rationale(_ex("1", expl=(), rationales=(wrong, right))) == "right one"
    assert shot_rationale(_ex("1", expl=(), rationales=(wrong,))) is None


def test_shots_are_seeded_and_never_the_row_itself():
    train = [_ex(str(i)) for i in range(20)]
    pool = select_shots(train, 3, seed=1)
    assert pool == select_shots(train, 3, seed=1) and len(pool) == 4
    assert shots_for(pool[1], pool, 3) == [pool[0], pool[2], pool[3]]
    assert shots_for(_ex("x"), pool, 3) == pool[:3]
    with pytest.raises(DataError, match="only 2 training rows"):
        select_shots([_ex("a"), _ex("b"), _ex("c", expl=())], 2, seed=0)


def test_bad_templates_and_missing_fields(tmp_path):
    bad = tmp_path / "t.txt"
    bad.write_text("### instruction\nx\n### input\n{premise}\n")
    with pytest.raises(ConfigError, match="missing section"):
        load_template("esnli", bad)
    bad.write_text("### instruction\nx\n### input\n{question}\n### output\n{rationale} {answer}\n")
    with pytest.raises(DataError, match="needs field 'question'"):
        render(load_template("esnli", bad), _ex("1"), [])
