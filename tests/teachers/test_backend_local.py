import shutil

from rdistill.teachers.backend_local import LocalBackend, cut_at_stop
from rdistill.teachers.config import GenerationSettings, LocalTeacher

PROMPTS = ["premise: the dog runs. hypothesis: an animal runs. explanation:",
           "premise: a man is sitting. hypothesis: the man is outside?",
           "the cat", "two people are eating food at the table in the park because"]


def _run(backend, payloads):
    got = {}
    backend.run([(str(i), p) for i, p in enumerate(payloads)], lambda key: None,
                lambda r: got.__setitem__(r.key, r))
    return [got[str(i)] for i in range(len(payloads))]


def test_batched_left_padded_generation_equals_one_at_a_time(tiny_causal_dir):
    settings = GenerationSettings(max_tokens=8, stop=[])
    batched = LocalBackend(LocalTeacher(backend="local", model=str(tiny_causal_dir), batch_size=4), settings)
    single = LocalBackend(LocalTeacher(backend="local", model=str(tiny_causal_dir), batch_size=1), settings)
    assert not batched.chat  # the tiny tokenizer has no chat template
    a, b = _run(batched, PROMPTS), _run(single, PROMPTS)
    assert [r.raw for r in a] == [r.raw for r in b]
    assert [r.prompt_tokens for r in a] == [r.prompt_tokens for r in b]
    assert all(r.status == "done" and 0 < r.completion_tokens <= 8 for r in a)
    assert a[2].prompt_tokens < a[0].prompt_tokens  # padding is not counted


def test_chat_template_is_applied_when_the_model_has_one(tiny_causal_dir, tmp_path):
    folder = tmp_path / "chat"
    shutil.copytree(tiny_causal_dir, folder)
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(folder)
    tok.chat_template = ("{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}"
                         "{% if add_generation_prompt %}assistant:{% endif %}")
    tok.save_pretrained(folder)
    backend = LocalBackend(LocalTeacher(backend="local", model=str(folder)), GenerationSettings(max_tokens=4))
    assert backend.chat
    messages = [{"role": "system", "content": "be brief"}, {"role": "user", "content": "the dog"}]
    assert backend.prompt_text(messages) == "system: be brief\nuser: the dog\nassistant:"
    assert _run(backend, [messages])[0].status == "done"
    never = LocalBackend(LocalTeacher(backend="local", model=str(folder)), GenerationSettings(), chat="never")
    assert not never.chat


def test_cut_at_stop():
    assert cut_at_stop("a\nAnswer: x\n\nPremise", ["\n\n"]) == "a\nAnswer: x"
    assert cut_at_stop("abc", ["z", ""]) == "abc"
    assert cut_at_stop("a.b;c", [";", "."]) == "a"
