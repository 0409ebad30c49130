"""The methods a recipe can name, and what the command line and sweeps ask of them.

``METHODS`` is the one registry: adding a method is its folder plus one line here. A
method's config section (``latent:``) joins the recipe schema from its ``settings``, so
recipes are validated whole at load, every problem reported at once.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import create_model

from rdistill.config import RunConfig, load_config
from rdistill.errors import ConfigError, problems_message
from rdistill.methods.base import EvalRequest, Method, TrainRequest
from rdistill.methods.coconut.method import CoconutMethod
from rdistill.methods.exported import evaluate_export, export_predictor, export_student
from rdistill.methods.latent.method import LatentMethod
from rdistill.methods.rationale.method import RationaleMethod
from rdistill.tasks.registry import recipe_problems
from rdistill.training.distributed import quiet_other_ranks
from rdistill.training.export import read_export
from rdistill.training.precision import inference_dtype
from rdistill.training.run_folder import RunFolder, load_student

METHODS: dict[str, Method] = {m.name: m for m in (RationaleMethod(), LatentMethod(), CoconutMethod())}

# The recipe schema: the shared sections plus each method's own (optional) section.
RecipeConfig: type[RunConfig] = create_model(  # type: ignore[call-overload]
    "RecipeConfig", __base__=RunConfig,
    **{m.section: (m.settings | None, None) for m in METHODS.values() if m.section})


def get_method(name: str) -> Method:
    if name not in METHODS:
        raise ConfigError(f"unknown method {name!r}; known methods: {', '.join(sorted(METHODS))}")
    return METHODS[name]


def load_recipe(path: str | Path | None, overrides: list[str] | None = None,
                raw: dict[str, Any] | None = None) -> RunConfig:
    """A recipe validated whole: schema (every method's section), then the registries' checks
    (``method``, ``data.dataset``) and the method's and the task's own, all reported at once."""
    cfg = load_config(path, overrides, raw, schema=RecipeConfig)
    problems: list[tuple[str, str]] = []
    if cfg.method not in METHODS:
        problems.append(("method", f"unknown method {cfg.method!r}; known methods: {', '.join(sorted(METHODS))}"))
    else:
        problems += METHODS[cfg.method].check(cfg)
        problems += [(m.section, f"is read by method '{m.name}' only, but the recipe's method is "
                                 f"'{cfg.method}': remove it or set method: {m.name}")
                     for m in METHODS.values() if m.section and m.name != cfg.method
                     and getattr(cfg, m.section) is not None]
        problems += [(key, f"'{value}' but method '{cfg.method}' trains no label words: remove it")
                     for key, value in label_keys(cfg) if not METHODS[cfg.method].trains_label_words]
    problems += recipe_problems(cfg.data.dataset, split_by=cfg.data.split_by, task_prefix=cfg.loss.task_prefix,
                                label_keys=label_keys(cfg))
    if problems:
        raise ConfigError(problems_message(str(path) if path else "<config>",
                                           [f"{key}: {problem}" for key, problem in problems]))
    return cfg


def label_keys(cfg: RunConfig) -> list[tuple[str, str]]:
    """``(key, value)`` of the label-scoring settings a recipe changed from their defaults."""
    return [(k, v) for k, v, default in (("loss.label_softmax", cfg.loss.label_softmax, "vocab"),
                                         ("model.label_head", cfg.model.label_head, "none")) if v != default]


def method_of(cfg: RunConfig) -> Method:
    return get_method(cfg.method)


def open_run(run_dir: str | Path) -> tuple[RunFolder, RunConfig, Method]:
    """A run folder, its saved recipe and its method; one clear error when it is no run."""
    folder = RunFolder(Path(run_dir))
    if not folder.config.is_file():
        raise ConfigError(f"'{run_dir}' is not a finished rdistill run (nor an `rdistill export` folder): "
                          f"{folder.config} is missing")
    cfg = load_recipe(folder.config)
    folder.check_config_unchanged()  # after parsing: a file that does not parse says why itself
    return folder, cfg, method_of(cfg)


def train_recipe(cfg: RunConfig, output_dir: str | Path, request: TrainRequest) -> dict:
    """``rdistill train``: the recipe's method runs its phases into ``output_dir``; the summary.
    Under ``accelerate launch`` every rank calls this; the main process alone logs and writes."""
    quiet_other_ranks()
    return method_of(cfg).train(cfg, RunFolder(Path(output_dir)), request)


def export_run(run_dir: str | Path, out_dir: str | Path, *, fmt: str = "hf", quantization: str | None = None,
               overwrite: bool = False) -> Path:
    """``rdistill export``: the run's student as an ``hf`` or ``ctranslate2`` folder
    (``training/export.py``)."""
    folder, cfg, _ = open_run(run_dir)
    return export_student(folder, cfg, out_dir, fmt=fmt, quantization=quantization, overwrite=overwrite)


def scoring_recipe(path: str | Path, overrides: tuple[str, ...] | list[str], method: Method) -> RunConfig:
    """A run's saved recipe with ``key=value`` ``overrides`` of its scoring (decoding, metrics);
    a key the method's evaluation does not read (another section would describe another run)
    is refused before any work, never silently ignored."""
    for override in overrides:
        key = override.split("=", 1)[0]
        if not any(key == k or (k.endswith(".") and key.startswith(k)) for k in method.scoring_keys):
            allowed = ", ".join(k + "*" if k.endswith(".") else k for k in method.scoring_keys)
            raise ConfigError(f"--set {override}: `rdistill eval` scores the run as it was trained; "
                              f"a {method.name} run's scoring reads only {allowed}")
    return load_recipe(path, list(overrides))


def evaluate_run(run_dir: str | Path, request: EvalRequest) -> dict:
    """``rdistill eval`` of one run, by its own method, or of an export folder (its recipe inside),
    with the request's scoring overrides."""
    info = read_export(run_dir)
    if info is not None:
        # An export is scored as a rationale run is (its predictor, its metrics).
        return evaluate_export(info, scoring_recipe(info.config, request.overrides, get_method("rationale")),
                               request)
    folder, cfg, method = open_run(run_dir)
    if request.overrides:
        cfg = scoring_recipe(folder.config, request.overrides, method)
    return method.evaluate(folder, cfg, request)


def run_predictor(run_dir: str | Path, *, show_progress: bool = False, precision: str | None = None):
    """``(predictor, cfg)`` of a trained run: the one factory ``predict`` and ``profile`` use;
    the method decides how its student is prompted. An export folder gets its format's predictor.
    ``precision`` (``fp32``, ``bf16``, ``auto``) replaces the run's ``generation.precision``."""
    info = read_export(run_dir)
    if info is not None:
        cfg = load_recipe(info.config)
        return export_predictor(info, cfg, show_progress=show_progress), cfg
    folder, cfg, method = open_run(run_dir)
    if precision is not None:
        cfg = cfg.model_copy(update={"generation": cfg.generation.model_copy(update={"precision": precision})})
    model, tokenizer, kind, _ = load_student(folder, trust_remote_code=cfg.model.trust_remote_code,
                                             dtype=inference_dtype(cfg))
    return method.predictor(model, tokenizer, kind, cfg, show_progress=show_progress), cfg
