"""Sweeps: one recipe, many runs, one results table.

A sweep is the recipe's ``sweep:`` block and/or ``--grid key=v1,v2`` arguments:
``variants`` (named sets of overrides, for runs a grid cannot express, such as the
baselines) times the cartesian product of the ``grid``. Every variant is validated
before the first one trains, and trained by its method (``train_recipe``) into
``SWEEP_DIR/runs/<variant>/``; ``--only`` trains some named variants now, the rest later. Layout::

    SWEEP_DIR/sweep.json      what was asked: config file, --set, grid, variants
    SWEEP_DIR/runs/<variant>/ one run folder per variant (see rdistill.training.run_folder)
    SWEEP_DIR/results.json    one entry per variant, rewritten after every variant; finished
                              runs of earlier invocations (--only, other --grid values) stay
    SWEEP_DIR/results.csv     the same as a table: overrides, then metrics

Resumable: a variant whose folder holds a complete ``summary.json`` for the same
config is not trained again (status ``cached``); one with a folder but no summary
(interrupted) resumes from its last checkpoint. A variant that fails is recorded with
its error and the sweep goes on.
"""

from __future__ import annotations

import copy
import gc
import hashlib
import itertools
import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from rdistill.config import (RunConfig, config_diff, config_hash, config_keys, flatten, read_config_file,
                             set_key, sweep_key_problem)
from rdistill.errors import ConfigError, RdistillError
from rdistill.io import check_writable, write_json_atomic, write_text_atomic
from rdistill.methods.base import TrainRequest, resume_conflicts
from rdistill.methods.registry import RecipeConfig, load_recipe, train_recipe
from rdistill.reporting.sweep_results import results_csv
from rdistill.training.tracking import check_tracking

log = logging.getLogger("rdistill.sweep")

# Folder names stay short and portable; longer variant names are cut and given a hash.
MAX_NAME = 120
# Run settings that may differ from a finished variant's without making its results stale.
REUSE_MAY_CHANGE = ("name",)
REUSE_MAY_CHANGE_SECTIONS = ("tracking.",)


@dataclass(frozen=True)
class Variant:
    name: str
    overrides: dict[str, Any]  # dotted key -> value as written in the grid / variant
    cfg: RunConfig

    def typed_overrides(self) -> dict[str, Any]:
        """The overrides as the validated config holds them (``1`` -> ``1.0`` for a float key)."""
        flat = flatten(self.cfg.model_dump(mode="json", exclude={"sweep"}))
        return {key: flat[key] for key in self.overrides}


@dataclass(frozen=True)
class SweepPlan:
    name: str
    config_path: str
    sets: list[str]
    grid: dict[str, list[Any]]
    named: dict[str, dict[str, Any]]
    variants: list[Variant]


# ---- parsing and naming ----

def split_values(text: str) -> list[str]:
    """Split ``a,b,[c,d]`` at commas outside brackets and quotes -> ``["a", "b", "[c,d]"]``."""
    parts, depth, quote, current = [], 0, "", []
    for ch in text:
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append("".join(current))
            current = []
            continue
        current.append(ch)
    parts.append("".join(current))
    return [p.strip() for p in parts]


def parse_grid(items: list[str]) -> dict[str, list[Any]]:
    """``["loss.alpha=0.1,0.3", "finetune.r=4,8"]`` -> ``{"loss.alpha": [0.1, 0.3], ...}``.

    Each value is parsed as YAML, as ``--set`` values are (``1e-4``, ``true``, ``[q,v]``);
    the config schema then checks its type when the variants are validated.
    """
    grid: dict[str, list[Any]] = {}
    problems = []
    for item in items:
        key, sep, values = item.partition("=")
        key = key.strip()
        if not sep or not key or not values.strip():
            problems.append(f"--grid '{item}' is not of the form key.sub=v1,v2,...")
            continue
        if key in grid:
            problems.append(f"--grid names '{key}' twice")
            continue
        if problem := sweep_key_problem(key, config_keys(RecipeConfig)):
            problems.append(f"--grid {problem}")
            continue
        texts = split_values(values)
        if any(not t for t in texts):
            problems.append(f"--grid '{item}' has an empty value")
            continue
        try:
            grid[key] = [yaml.safe_load(t) for t in texts]
        except yaml.YAMLError as e:
            problems.append(f"--grid '{item}': a value is not valid YAML ({e})")
    if problems:
        raise ConfigError("\n".join(problems))
    return grid


def format_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, (list, tuple)):
        return "+".join(format_value(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True)
    return str(value)


def variant_name(named: str | None, overrides: dict[str, Any]) -> str:
    """Deterministic folder name: ``label-only,seed=1`` or ``loss.alpha=0.3,finetune.r=8``."""
    parts = ([named] if named else []) + [f"{k}={format_value(v)}" for k, v in overrides.items()]
    text = ",".join(parts) or "base"
    slug = re.sub(r"[^A-Za-z0-9._=+,-]", "-", text)
    if len(slug) > MAX_NAME:
        slug = f"{slug[:MAX_NAME - 9]}-{hashlib.sha1(text.encode()).hexdigest()[:8]}"
    return slug


# ---- planning: every variant validated before any work ----

def plan_sweep(config_path: str | Path, grid_args: list[str] | None = None,
               sets: list[str] | None = None, only: list[str] | None = None) -> SweepPlan:
    """Read the recipe, merge its ``sweep:`` block with ``--grid``, validate every variant;
    ``only``: just these named variants (``--only``; a later full sweep collects them all)."""
    sets = list(sets or [])
    base = load_recipe(config_path, sets)  # the file, its sweep block and --set, all checked
    raw = read_config_file(config_path)
    raw.pop("sweep", None)
    block = base.sweep
    grid = {**(block.grid if block else {}), **parse_grid(grid_args or [])}  # --grid wins per key
    named: dict[str, dict[str, Any]] = dict(block.variants) if block else {}
    if not grid and not named:
        raise ConfigError(f"{config_path}: nothing to sweep: give --grid key=v1,v2 or a sweep: block "
                          "with grid: and/or variants:")
    swept = set(grid) | {k for overrides in named.values() for k in overrides}
    problems = [f"'{s}': {s.split('=')[0]} is also swept; drop the --set or the grid entry"
                for s in sets if s.split("=")[0].strip() in swept]
    problems += [f"variant '{v}' sets {k}, which the grid also sweeps"
                 for v, overrides in named.items() for k in overrides if k in grid]
    problems += [f"--only {o}: no such variant; the sweep's variants: {', '.join(named) or 'none'}"
                 for o in only or [] if o not in named]
    if problems:
        raise ConfigError(f"{config_path}: " + "\n".join(problems))
    sweep_name = (block.name if block and block.name else None) or base.name

    def build(overrides: dict[str, Any], name: str) -> RunConfig:
        variant_raw = copy.deepcopy(raw)
        for key, value in overrides.items():
            set_key(variant_raw, key.split("."), value, f"{key}={value}")
        variant_raw["name"] = f"{sweep_name}/{name}"
        return load_recipe(config_path, sets, raw=variant_raw)

    # Each grid value alone first: a bad value is reported once, not once per combination.
    for key, values in grid.items():
        for value in values:
            try:
                build({key: value}, "check")
            except ConfigError as e:
                problems.append(f"grid {key}={format_value(value)}: {_details(e, config_path)}")
    if problems:
        raise ConfigError(f"{config_path}: bad sweep values:" + _items(problems))

    variants: list[Variant] = []
    for vname, voverrides in (named or {None: {}}).items():
        if only and vname not in only:
            continue
        for combo in itertools.product(*grid.values()):
            grid_part = dict(zip(grid, combo))
            name, overrides = variant_name(vname, grid_part), {**voverrides, **grid_part}
            try:
                variants.append(Variant(name, overrides, build(overrides, name)))
            except ConfigError as e:
                problems.append(f"variant {name}: {_details(e, config_path)}")
    seen: dict[str, int] = {}
    for v in variants:
        seen[v.name] = seen.get(v.name, 0) + 1
    problems += [f"{n} variants share the folder name '{name}' (values that differ only in "
                 "characters a folder name cannot hold)" for name, n in seen.items() if n > 1]
    if problems:
        raise ConfigError(f"{config_path}: invalid sweep variants:" + _items(problems))
    return SweepPlan(sweep_name, str(config_path), sets, grid, named, variants)


def _items(problems: list[str]) -> str:
    return f" {problems[0]}" if len(problems) == 1 else "".join(f"\n{p}" for p in problems)


def _details(err: ConfigError, origin: str | Path) -> str:
    # load_config's message is "FILE: key: why", or "FILE: N problem(s) in the config:" and the
    # items; keep the items.
    lines = str(err).splitlines()
    if len(lines) > 1:
        return "; ".join(line.strip(" -") for line in lines[1:])
    return lines[0].removeprefix(f"{origin}: ")


# ---- state of a variant's run folder ----

def _summary(run_dir: Path) -> dict | None:
    """The run's summary.json when complete (written last by train()), else None."""
    try:
        summary = json.loads((run_dir / "summary.json").read_text())
    except (OSError, ValueError):
        return None
    return summary if isinstance(summary, dict) and "eval" in summary else None


def variant_state(run_dir: Path, cfg: RunConfig) -> tuple[str, str | None]:
    """``("new" | "partial" | "finished" | "stale", why)`` for the variant's run folder."""
    if not (run_dir / "config.yaml").is_file():
        return "new", None
    try:
        saved = load_recipe(run_dir / "config.yaml")
    except ConfigError as e:
        return "stale", f"its config.yaml does not load ({e})"
    if _summary(run_dir) is not None:
        changed = {k: v for k, v in config_diff(saved, cfg).items()
                   if k not in REUSE_MAY_CHANGE and not k.startswith(REUSE_MAY_CHANGE_SECTIONS)}
        kind = "finished"
    else:
        changed, kind = resume_conflicts(saved.model_dump(mode="json", exclude={"sweep"}), cfg), "partial"
    if changed:
        return "stale", ", ".join(f"{k}: {a!r} -> {b!r}" for k, (a, b) in changed.items())
    return kind, None


# ---- running ----

def _entry(v: Variant, status: str) -> dict[str, Any]:
    return {"variant": v.name, "overrides": v.typed_overrides(), "run_dir": f"runs/{v.name}",
            "status": status, "train_seconds": None, "wall_seconds": None, "metrics": {}, "error": None,
            "config_hash": config_hash(v.cfg)}


def _fill_from_summary(entry: dict[str, Any], summary: dict) -> None:
    entry.update(train_seconds=summary.get("train_seconds"), wall_seconds=summary.get("wall_seconds"),
                 metrics=dict(summary["eval"]))


def earlier_results(sweep_dir: Path, plan: SweepPlan) -> list[dict[str, Any]]:
    """The entries of ``results.json`` for variants this invocation does not run (an earlier
    ``--only``, or a grid value not asked for now) whose runs finished, refreshed from their
    summaries: the table keeps every finished run of the folder instead of this call's alone."""
    try:
        old = json.loads((sweep_dir / "results.json").read_text())
    except (OSError, ValueError):
        return []
    asked = {v.name for v in plan.variants}
    kept = []
    for entry in old if isinstance(old, list) else []:
        name = entry.get("variant") if isinstance(entry, dict) else None
        if not isinstance(name, str) or name in asked or "/" in name or name in ("", ".", ".."):
            continue
        summary = _summary(sweep_dir / "runs" / name)
        if summary is not None:
            entry = {**entry, "status": "cached"}
            _fill_from_summary(entry, summary)
            kept.append(entry)
    return kept


def write_results(sweep_dir: Path, results: list[dict[str, Any]]) -> None:
    write_json_atomic(sweep_dir / "results.json", results)
    write_text_atomic(sweep_dir / "results.csv", results_csv(results))


def check_reusable(plan: SweepPlan, sweep_dir: Path) -> dict[str, str]:
    """Each variant's state; refuses (one error listing all) folders left by another config."""
    states, stale = {}, []
    for v in plan.variants:
        state, why = variant_state(sweep_dir / "runs" / v.name, v.cfg)
        states[v.name] = state
        if state == "stale":
            stale.append(f"  - runs/{v.name}: {why}")
    if stale:
        raise ConfigError(f"{sweep_dir} holds runs of another config; delete those folders or choose "
                          "another --output-dir:\n" + "\n".join(stale))
    return states


def run_sweep(plan: SweepPlan, sweep_dir: str | Path, *, data_dir: str | None = None,
              show_progress: bool = True) -> list[dict[str, Any]]:
    """Train every variant not finished yet; returns the results (also written to ``sweep_dir``)."""
    sweep_dir = Path(sweep_dir)
    for v in plan.variants:  # a missing tracker would fail every variant: say so once, up front
        check_tracking(v.cfg.tracking)
    check_writable(sweep_dir, "--output-dir")
    states = check_reusable(plan, sweep_dir)
    earlier = earlier_results(sweep_dir, plan)
    write_json_atomic(sweep_dir / "sweep.json", {
        "name": plan.name, "config": plan.config_path, "set": plan.sets, "grid": plan.grid,
        "variants": plan.named, "runs": [v.name for v in plan.variants]})
    results = []
    for v in plan.variants:
        entry = _entry(v, "pending")
        if states[v.name] == "finished":
            entry["status"] = "cached"
            _fill_from_summary(entry, _summary(sweep_dir / "runs" / v.name))
        results.append(entry)
    write_results(sweep_dir, earlier + results)
    todo = [i for i, r in enumerate(results) if r["status"] == "pending"]
    log.info("sweep %s: %d variants, %d already finished, %d to train -> %s", plan.name,
             len(results), len(results) - len(todo), len(todo), sweep_dir)
    for n, i in enumerate(todo, 1):
        v, entry = plan.variants[i], results[i]
        run_dir = sweep_dir / "runs" / v.name
        resume = states[v.name] == "partial"
        log.info("variant %d/%d %s%s", n, len(todo), v.name, " (resuming)" if resume else "")
        entry["status"] = "running"
        write_results(sweep_dir, earlier + results)
        try:
            # resume=True also for a folder that a crash left without checkpoints: training then
            # starts afresh. The method's phases skip what is complete (a shared teacher cache).
            train_recipe(v.cfg, run_dir, TrainRequest(data_dir=data_dir, resume=run_dir.exists(),
                                                      show_progress=show_progress))
            entry["status"] = "done"
            _fill_from_summary(entry, _summary(run_dir) or {"eval": {}})
        except KeyboardInterrupt:
            entry["status"] = "interrupted"
            write_results(sweep_dir, earlier + results)
            raise
        except Exception as e:  # one broken variant must not stop the others
            entry.update(status="failed", error=f"{type(e).__name__}: {e}")
            # User errors (bad data, missing model) carry their own message; others get a traceback.
            log.error("variant %s failed: %s", v.name, entry["error"],
                      exc_info=not isinstance(e, RdistillError))
        write_results(sweep_dir, earlier + results)
        gc.collect()  # the previous student and its optimizer state before the next one loads
    return earlier + results


# ---- text for the command line ----

def describe_plan(plan: SweepPlan, sweep_dir: Path) -> str:
    """One line per variant with the state of its folder: what ``--dry-run`` prints."""
    lines = [f"sweep {plan.name}: {len(plan.variants)} variant(s) -> {sweep_dir}"]
    width = max(len(v.name) for v in plan.variants)
    for v in plan.variants:
        state, why = variant_state(sweep_dir / "runs" / v.name, v.cfg)
        sets = " ".join(f"{k}={format_value(val)}" for k, val in v.typed_overrides().items())
        lines.append(f"  {v.name:<{width}}  {state:<8}  {sets}" + (f"  ({why})" if why else ""))
    return "\n".join(lines)
