from pathlib import Path

import pytest

from rdistill.config import load_config, parse_override
from rdistill.errors import ConfigError

ROOT = Path(__file__).parents[1] / "configs"
# Teach recipes have their own schema (rdistill.teachers.config; parsed in tests/teachers), and
# configs/accelerate/ holds accelerate's launcher files (tests/training/test_accelerate_configs.py).
CONFIGS = sorted(p for p in ROOT.glob("**/*.yaml") if p.parent.name not in ("teach", "accelerate"))
MINIMAL = {"data": {"train_file": "esnli/esnli_valid.json"}}


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_every_shipped_config_parses(path):
    from rdistill.methods.registry import load_recipe

    cfg = load_recipe(path)
    assert cfg.data.train_file


def test_there_are_shipped_configs():
    assert len(CONFIGS) >= 3


def test_overrides_parse_yaml_values():
    cfg = load_config(None, ["training.lr=1e-4", "loss.beta=0", "finetune.target_modules=[q_proj,v_proj]",
                             "data.skip_invalid=true"], raw=dict(MINIMAL))
    assert cfg.training.lr == 1e-4 and cfg.loss.beta == 0.0
    assert cfg.finetune.target_modules == ["q_proj", "v_proj"]
    assert cfg.data.skip_invalid is True


def test_all_problems_reported_at_once_with_file_and_keys(tmp_path):
    f = tmp_path / "bad.yaml"
    f.write_text("data:\n  train_file: x.json\n  bogus: 1\ntraining:\n  lr: -1\n  batch_size: many\n")
    with pytest.raises(ConfigError) as e:
        load_config(f)
    msg = str(e.value)
    assert str(f) in msg
    assert "data.bogus: unknown key" in msg
    assert "training.lr" in msg and "training.batch_size" in msg
    assert "3 problem(s)" in msg


def test_bad_literal_names_allowed_values():
    with pytest.raises(ConfigError, match="loss.output_order.*'predict_explain'"):
        load_config(None, ["loss.output_order=sideways"], raw=dict(MINIMAL))


def test_teacher_source_requires_teacher_files():
    with pytest.raises(ConfigError, match="teacher_files"):
        load_config(None, ["data.explanation_source=palm"], raw=dict(MINIMAL))


def test_zero_weights_rejected():
    with pytest.raises(ConfigError, match="both 0"):
        load_config(None, ["loss.alpha=0", "loss.beta=0"], raw=dict(MINIMAL))


def test_malformed_override_and_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="key.sub=value"):
        parse_override("training.lr")
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.yaml")


def test_fp16_t5_refused():
    raw = {"data": {"train_file": "x"}, "model": {"name": "google/flan-t5-base"}}
    with pytest.raises(ConfigError, match="T5"):
        load_config(None, ["training.precision=fp16"], raw=raw)


def _leaf_keys(model_cls, prefix=""):
    from pydantic import BaseModel

    for name, field in model_cls.model_fields.items():
        ann = field.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            yield from _leaf_keys(ann, f"{prefix}{name}.")
        else:
            yield f"{prefix}{name}", name


def test_config_reference_names_every_key():
    from rdistill.config import config_keys
    from rdistill.methods.registry import RecipeConfig

    reference = (Path(__file__).parents[1] / "docs" / "config.md").read_text()
    keys = config_keys(RecipeConfig)  # every method's section too
    assert "method" in keys and "latent.alpha" in keys
    missing = [key for key in keys
               if f"`{key}`" not in reference and f"`{key.rsplit('.', 1)[-1]}`" not in reference]
    assert not missing, f"docs/config.md lacks: {missing}"


def test_label_metric_needs_label_loss():
    with pytest.raises(ConfigError, match="metric_for_best=eval_loss"):
        load_config(None, ["loss.alpha=0"], raw=dict(MINIMAL))
    assert load_config(None, ["loss.alpha=0", "training.metric_for_best=eval_loss"], raw=dict(MINIMAL))


def test_labels_only_evaluation_refused_where_the_label_follows_the_explanation():
    with pytest.raises(ConfigError, match="evaluation.explanations is false"):
        load_config(None, ["evaluation.explanations=false", "loss.output_order=explain_predict"],
                    raw=dict(MINIMAL))
    # The label does not depend on a generated explanation: step-by-step, or no explanation trained.
    for extra in ("loss.task_prefix=true", "loss.beta=0"):
        cfg = load_config(None, ["evaluation.explanations=false", "loss.output_order=explain_predict",
                                 extra], raw=dict(MINIMAL))
        assert cfg.evaluation.explanations is False
