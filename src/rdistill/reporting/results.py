"""Load a run folder or a sweep folder into plain typed records; read only, compute nothing.

A *run* folder is what ``rdistill train`` writes (see ``rdistill.training.run_folder``); every file
is optional here except that at least one of ``summary.json``, ``config.yaml`` or
``eval/metrics.json`` must exist. Optional extras read when present:
``profile.json`` (from ``rdistill profile``) and ``layer_similarity.json``
(``{"student_layers": [...], "teacher_layers": [...], "similarity": [[...]]}``,
optionally ``"measure"``).

A *sweep* folder holds ``results.json``: a list of ``{"variant", "overrides",
"run_dir", "status", "metrics", "train_seconds"}``, each variant's run folder
under ``SWEEP/runs/<variant>/``.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from rdistill.errors import DataError
from rdistill.io import read_text

log = logging.getLogger(__name__)

# Paths inside a run folder. They repeat rdistill.training.run_folder.RunFolder on purpose:
# importing that module pulls in torch, which a report must not need.
_SUMMARY = "summary.json"
_CONFIG = "config.yaml"
_SYSTEM = "system.json"
_TRAIN_LOG = "metrics.jsonl"
_EVAL = Path("eval") / "metrics.json"
_PREDICTIONS = Path("eval") / "metrics.predictions.jsonl"
_PROFILE = "profile.json"
_LAYER_SIMILARITY = "layer_similarity.json"
ACCURACY_KEYS = ("label_accuracy", "answer_accuracy")
_SWEEP_RESULTS = "results.json"


@dataclass(frozen=True)
class LayerSimilarity:
    """Similarity of student layers (rows) to teacher layers (columns)."""

    student_layers: list[str]
    teacher_layers: list[str]
    similarity: list[list[float]]  # [len(student_layers)][len(teacher_layers)]
    measure: str | None = None  # e.g. "linear CKA"; optional key "measure" in the file


@dataclass
class RunResult:
    """Everything a report shows about one training run (each part may be missing)."""

    name: str
    path: Path
    config: dict = field(default_factory=dict)
    config_text: str | None = None
    system: dict = field(default_factory=dict)
    summary: dict = field(default_factory=dict)
    train_log: list[dict] = field(default_factory=list)
    eval_metrics: dict | None = None
    predictions: list[dict] = field(default_factory=list)
    profile: dict | None = None
    layer_similarity: LayerSimilarity | None = None

    def config_value(self, dotted_key: str) -> Any:
        """Value of ``section.key`` in the resolved config, None when absent."""
        node: Any = self.config
        for part in dotted_key.split("."):
            if not isinstance(node, dict) or part not in node:
                return None
            node = node[part]
        return node


@dataclass
class SweepVariant:
    """One row of a sweep's ``results.json``, plus its run folder when it can be found."""

    variant: str
    overrides: dict[str, Any]
    status: str | None
    metrics: dict[str, Any]
    train_seconds: float | None
    run_dir: Path | None
    run: RunResult | None = None

    def setting(self, dotted_key: str) -> Any:
        """The variant's value of a config key: its override, else its run's resolved config."""
        if dotted_key in self.overrides:
            return self.overrides[dotted_key]
        return self.run.config_value(dotted_key) if self.run is not None else None

    def accuracy_key(self) -> str | None:
        """``label_accuracy`` (closed label sets), else ``answer_accuracy`` (open answers, latent runs)."""
        return next((key for key in ACCURACY_KEYS if self.metric(key) is not None), None)

    def accuracy(self) -> float | None:
        """The variant's headline accuracy (see :meth:`accuracy_key`)."""
        key = self.accuracy_key()
        return None if key is None else self.metric(key)

    def metric(self, key: str) -> float | None:
        """A numeric result: the flat eval metrics, else the run's profile, else None."""
        for source in (self.metrics, self.run.profile if self.run else None):
            if source and _is_number(source.get(key)):
                return float(source[key])
        if key == "train_seconds" and _is_number(self.train_seconds):
            return float(self.train_seconds)
        return None


@dataclass
class SweepResult:
    name: str
    path: Path
    variants: list[SweepVariant]


def _is_number(value: Any) -> bool:
    # bool is an int subclass; NaN/inf would poison axis limits.
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value))


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise DataError(f"{path}: not valid JSON ({e.msg}, line {e.lineno})") from None


def _read_jsonl(path: Path) -> list[dict]:
    rows = []
    for line_no, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            # A run killed mid-write can leave a torn last line; the rest is still worth showing.
            log.warning("%s line %d: skipped, not valid JSON (%s)", path, line_no, e.msg)
            continue
        if isinstance(row, dict):
            rows.append(row)
    return rows


def _optional_json(path: Path, kind: type = dict) -> Any:
    if not path.is_file():
        return None
    data = _read_json(path)
    if not isinstance(data, kind):
        raise DataError(f"{path}: expected a JSON {kind.__name__}, got {type(data).__name__}")
    return data


def _layer_similarity(path: Path) -> LayerSimilarity | None:
    raw = _optional_json(path)
    if raw is None:
        return None
    matrix = raw.get("similarity")
    if matrix is None and "pairs" in raw:
        return None  # written by a latent run whose hidden sizes differ: per-pair numbers only
    students, teachers = raw.get("student_layers"), raw.get("teacher_layers")
    if (not isinstance(matrix, list) or not isinstance(students, list)
            or not isinstance(teachers, list) or len(matrix) != len(students)
            or any(not isinstance(row, list) or len(row) != len(teachers) for row in matrix)):
        raise DataError(f"{path}: expected student_layers (n), teacher_layers (m) and an "
                        "n x m similarity matrix")
    return LayerSimilarity([str(s) for s in students], [str(t) for t in teachers],
                           [[float(v) for v in row] for row in matrix],
                           str(raw["measure"]) if raw.get("measure") else None)


def is_run_dir(path: Path) -> bool:
    return any((path / name).is_file() for name in (_SUMMARY, _CONFIG, _EVAL))


def is_sweep_dir(path: Path) -> bool:
    return (path / _SWEEP_RESULTS).is_file()


def load_run(path: str | Path) -> RunResult:
    """Read every result file of a run folder that exists."""
    path = Path(path)
    if not path.is_dir() or not is_run_dir(path):
        raise DataError(f"'{path}' is not a run folder (no {_SUMMARY}, {_CONFIG} or {_EVAL})")
    config_file = path / _CONFIG
    config_text = read_text(config_file) if config_file.is_file() else None
    try:
        config = yaml.safe_load(config_text) if config_text else {}
    except yaml.YAMLError as e:
        raise DataError(f"{path / _CONFIG}: not valid YAML ({e})") from None
    summary = _optional_json(path / _SUMMARY) or {}
    return RunResult(
        name=str(summary.get("name") or (config or {}).get("name") or path.name),
        path=path,
        config=config if isinstance(config, dict) else {},
        config_text=config_text,
        system=_optional_json(path / _SYSTEM) or {},
        summary=summary,
        train_log=_read_jsonl(path / _TRAIN_LOG) if (path / _TRAIN_LOG).is_file() else [],
        eval_metrics=_optional_json(path / _EVAL),
        predictions=_read_jsonl(path / _PREDICTIONS) if (path / _PREDICTIONS).is_file() else [],
        profile=_optional_json(path / _PROFILE),
        layer_similarity=_layer_similarity(path / _LAYER_SIMILARITY),
    )


def _find_run_dir(sweep: Path, variant: str, recorded: Any) -> Path | None:
    """The variant's run folder: as recorded (absolute, or relative to the sweep or the
    working directory, since the sweep may have run elsewhere), else SWEEP/runs/<variant>."""
    candidates = []
    if isinstance(recorded, str) and recorded:
        recorded_path = Path(recorded)
        candidates += [recorded_path] if recorded_path.is_absolute() else [sweep / recorded_path,
                                                                         recorded_path]
    candidates.append(sweep / "runs" / variant)
    return next((c for c in candidates if c.is_dir() and is_run_dir(c)), None)


def load_sweep(path: str | Path) -> SweepResult:
    """Read ``results.json`` and the run folder of every variant that has one."""
    path = Path(path)
    rows = _optional_json(path / _SWEEP_RESULTS, list)
    if rows is None:
        raise DataError(f"'{path}' is not a sweep folder ({_SWEEP_RESULTS} is missing)")
    variants = []
    for position, row in enumerate(rows):
        if not isinstance(row, dict) or not isinstance(row.get("variant"), str):
            raise DataError(f"{path / _SWEEP_RESULTS}: entry {position} has no 'variant' name")
        run_dir = _find_run_dir(path, row["variant"], row.get("run_dir"))
        variants.append(SweepVariant(
            variant=row["variant"],
            overrides=dict(row.get("overrides") or {}),
            status=row.get("status"),
            metrics=dict(row.get("metrics") or {}),
            train_seconds=row.get("train_seconds"),
            run_dir=run_dir,
            run=load_run(run_dir) if run_dir is not None else None,
        ))
    return SweepResult(name=path.resolve().name, path=path, variants=variants)


def load_results(path: str | Path) -> RunResult | SweepResult:
    """A sweep when ``results.json`` is there, else a run folder."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"'{path}' does not exist")
    if is_sweep_dir(path):
        return load_sweep(path)
    if is_run_dir(path):
        run = load_run(path)
        if not (run.summary or run.train_log or run.eval_metrics or run.profile):
            # config.yaml alone: a run that failed or never started (a sweep reports such variants
            # as they are; asked for on its own, it has nothing to show)
            raise DataError(f"'{path}' holds no results yet (no {_SUMMARY}, {_TRAIN_LOG}, {_EVAL} or "
                            f"{_PROFILE}): train or evaluate it first")
        return run
    raise DataError(f"'{path}' is neither a run folder (summary.json, config.yaml or "
                    f"eval/metrics.json) nor a sweep folder ({_SWEEP_RESULTS})")
