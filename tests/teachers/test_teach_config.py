from pathlib import Path

import pytest

from rdistill.errors import ConfigError
from rdistill.teachers.config import LocalTeacher, OpenAITeacher, load_teach_config, teacher_id

CONFIGS = sorted((Path(__file__).parents[2] / "configs" / "teach").glob("*.yaml"))


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_shipped_teach_configs_load(path):
    cfg = load_teach_config(path)
    assert isinstance(cfg.teacher, (LocalTeacher, OpenAITeacher)) and cfg.data.rows == "train"
    if isinstance(cfg.teacher, OpenAITeacher):  # a local server: no key to leak, none asked for
        assert cfg.teacher.base_url.startswith("http://127.0.0.1") and cfg.teacher.api_key_env is None


def test_backend_is_a_tagged_union(teach_raw):
    raw = teach_raw(backend="openai", base_url="http://127.0.0.1:1/v1", model="m", api_key_env="MY_KEY")
    cfg = load_teach_config(None, raw=raw, overrides=["teacher.concurrency=8"])
    assert isinstance(cfg.teacher, OpenAITeacher) and cfg.teacher.concurrency == 8
    assert teacher_id(cfg) == "openai:m:chat"
    # a key of another backend is unknown here
    with pytest.raises(ConfigError, match=r"teacher\.openai\.batch_size: unknown key"):
        load_teach_config(None, raw=raw, overrides=["teacher.batch_size=4"])
    with pytest.raises(ConfigError, match=r"teacher: teacher\.backend must be one of: file, local, openai \(got .*'gpu'"):
        load_teach_config(None, raw=teach_raw(backend="gpu", model="m"))


def test_all_problems_reported_at_once_with_the_file(tmp_path, teach_raw):
    import yaml

    path = tmp_path / "t.yaml"
    raw = teach_raw()
    raw["prompt"]["shotz"] = 2
    raw["generation"]["max_tokens"] = 0
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(ConfigError) as err:
        load_teach_config(path)
    msg = str(err.value)
    assert str(path) in msg and "prompt.shotz: unknown key" in msg and "generation.max_tokens" in msg
