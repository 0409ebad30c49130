"""Learning curves: a sweep over ``data.train_size`` (and ``seed``) as accuracy per training-set
size and variant, with 95 % intervals, and paired differences against a baseline variant.

A sweep's variant folder names hold the named variant first, then the grid values
(``human,data.train_size=1000,seed=0``): the *series* of a run is its name without the size
and seed parts (``human``). Intervals: with two or more seeds at a point, a t interval over the
seeds' accuracies (each seed has its own training and test rows); with one seed, the Wilson
interval of that run's test rows. Paired differences match rows by seed and uid (within a seed
every variant is tested on the same rows): the mean per-row difference pooled over seeds, a
bootstrap interval that resamples rows within each seed, and McNemar's exact test.

Also ``python -m rdistill.reporting.learning_curve SWEEP [SWEEP ...] --output-dir DIR
[--predictions PATH]``: the figure and the tables (Markdown), read from the sweep folders alone
(one per size when sizes train for different steps). ``--predictions`` names a predictions file
inside the run folders to score instead of the one training wrote (e.g. the whole held-out
split, scored afterwards by ``rdistill eval RUN --output RUN/eval/full.json``); a run without it
keeps its own, and the tables give every run's test rows. Pure Python and matplotlib, no torch.
"""

from __future__ import annotations

import argparse
import io
import json
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from matplotlib.figure import Figure
from matplotlib.ticker import NullLocator

from rdistill.errors import DataError
from rdistill.evaluation.stats import paired_comparison, row_right, t_interval, wilson
from rdistill.io import iter_jsonl, write_bytes_atomic, write_text_atomic
from rdistill.reporting.results import SweepVariant, load_sweep
from rdistill.reporting.style import PALETTE, PlotSkipped, house_style, new_figure, styled

SIZE_KEY = "data.train_size"
SEED_KEY = "seed"
_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
@dataclass
class CurveRun:
    """One finished run of the sweep: its series, training rows, seed and scored test rows."""

    series: str
    size: int
    seed: int | None
    accuracy: float
    n: int
    correct: dict[str, bool] = field(default_factory=dict)  # uid -> right (from predictions)
    train_seconds: float | None = None
    wall_seconds: float | None = None
    variant: str = ""
    top_label: tuple[str, float] | None = None  # the most predicted label and its share of rows

    def wilson(self) -> tuple[float, float]:
        return wilson(round(self.accuracy * self.n), self.n)


def series_name(variant: str) -> str:
    """The variant folder name without its size and seed parts."""
    parts = [p for p in variant.split(",") if not p.startswith((f"{SIZE_KEY}=", f"{SEED_KEY}="))]
    return ",".join(parts) or "base"


def train_rows(v: SweepVariant) -> int | None:
    """Training rows of a variant: its ``data.train_size``, else (all rows) its data summary's count."""
    size = v.setting(SIZE_KEY)
    if size is not None:
        return int(size)
    if v.run is None:
        return None
    try:
        return int(json.loads((v.run.path / "data_summary.json").read_text())["splits"]["train"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _named_predictions(path: Path) -> list[dict]:
    """Every row of a predictions file the user named; one that is not a prediction is refused."""
    rows = []
    for line_no, row in iter_jsonl(path):
        if not isinstance(row, dict) or "uid" not in row:
            raise DataError(f"{path} line {line_no}: not a prediction (a JSON object with a 'uid')")
        rows.append(row)
    return rows


def curve_runs(variants: Sequence[SweepVariant], predictions: str | None = None) -> list[CurveRun]:
    """The finished runs with a label accuracy and a known training-set size.

    ``predictions``: a predictions file inside the run folder read instead of the run's own
    (``eval/metrics.predictions.jsonl``) where the run has it."""
    runs = []
    for v in variants:
        acc, size = v.metric("label_accuracy"), train_rows(v)
        if acc is None or size is None:
            continue
        preds = v.run.predictions if v.run is not None else []
        if predictions and v.run is not None and (v.run.path / predictions).is_file():
            preds = _named_predictions(v.run.path / predictions)
        correct = {p["uid"]: ok for p in preds if "uid" in p and (ok := row_right(p)) is not None}
        n = len(correct) or int(v.metric("n") or 0)
        if correct:
            acc = sum(correct.values()) / n
        seed = v.setting(SEED_KEY)
        labels = Counter(str(p.get("pred_label")) for p in preds)
        top = labels.most_common(1)[0] if labels else None
        runs.append(CurveRun(series_name(v.variant), size, None if seed is None else int(seed), acc, n,
                             correct, v.train_seconds, (v.run.summary.get("wall_seconds")
                                                        if v.run is not None else None), v.variant,
                             (top[0], top[1] / len(preds)) if top else None))
    return runs


@dataclass(frozen=True)
class CurvePoint:
    series: str
    size: int
    seeds: tuple
    accuracies: tuple
    mean: float
    low: float
    high: float
    interval: str  # "t over seeds" or "Wilson"


def curve_points(runs: Sequence[CurveRun]) -> list[CurvePoint]:
    """One point per (series, size): the mean over seeds and its 95 % interval."""
    cells: dict[tuple[str, int], list[CurveRun]] = {}
    for r in runs:
        cells.setdefault((r.series, r.size), []).append(r)
    points = []
    for (series, size), members in cells.items():
        members.sort(key=lambda r: (r.seed is None, r.seed or 0))
        accs = [r.accuracy for r in members]
        mean, low, high = t_interval(accs)
        kind = "t over seeds"  # clipped to 0-1 below: an accuracy has no other values
        if low is None:
            (low, high), kind = members[0].wilson(), "Wilson"
        points.append(CurvePoint(series, size, tuple(r.seed for r in members), tuple(accs), mean,
                                 max(0.0, low), min(1.0, high), kind))
    return sorted(points, key=lambda p: (p.series, p.size))


def paired_difference(runs: Sequence[CurveRun], series: str, baseline: str, size: int, *,
                      n_boot: int = 10000, seed: int = 0) -> dict | None:
    """``series`` minus ``baseline`` at ``size``, row by row, pooled over the seeds both have.

    Rows are matched by (seed, uid); None when no row can be matched (no predictions).
    """
    def by_seed(name):
        return {r.seed: r for r in runs if r.series == name and r.size == size}

    ours, base = by_seed(series), by_seed(baseline)
    strata = []
    for s in sorted(set(ours) & set(base), key=lambda s: (s is None, s or 0)):
        uids = sorted(set(ours[s].correct) & set(base[s].correct))
        if uids:
            strata.append([int(ours[s].correct[u]) - int(base[s].correct[u]) for u in uids])
    if not strata:
        return None
    result = paired_comparison(strata, n_boot=n_boot, seed=seed)
    return {"series": series, "baseline": baseline, "size": size, "seeds": len(strata), **result}


@styled
def learning_curve(points: Sequence[CurvePoint]) -> Figure:
    """Accuracy against training rows (log axis), one line per series, 95 % error bars."""
    if not points:
        raise PlotSkipped("no run has a label accuracy and a training-set size")
    series = list(dict.fromkeys(p.series for p in points))
    sizes = sorted({p.size for p in points})
    figure = new_figure(height_in=3.6)
    ax = figure.subplots()
    for k, name in enumerate(series):
        at = {p.size: p for p in points if p.series == name}
        # Every size on the axis, NaN where this series was not run: the line breaks there
        # instead of drawing a straight segment across a size nobody measured for it.
        members = [at.get(size) for size in sizes]
        # Side by side at each size (a small multiplicative offset), so the bars do not overlap.
        shift = 1.0 + 0.025 * (k - (len(series) - 1) / 2)
        xs = [size * shift for size in sizes]
        ys = [p.mean if p else math.nan for p in members]
        errors = [[p.mean - p.low if p else math.nan for p in members],
                  [p.high - p.mean if p else math.nan for p in members]]
        ax.errorbar(xs, ys, yerr=errors, marker=_MARKERS[k % len(_MARKERS)], capsize=3,
                    color=PALETTE[k % len(PALETTE)], markersize=4, linewidth=1.4, label=name,
                    gid=f"learning_curve|{name}")
    ax.set_xscale("log")
    ax.xaxis.set_minor_locator(NullLocator())  # ticks only at the sizes trained
    ax.set_xticks(sizes, [f"{s:,}" for s in sizes])
    if len(sizes) == 1:
        ax.set_xlim(sizes[0] / 1.3, sizes[0] * 1.3)
    ax.set_xlabel("training rows")
    ax.set_ylabel("held-out label accuracy")
    ax.legend(frameon=False, fontsize=8)
    kinds = sorted({p.interval for p in points})
    ax.set_title(f"Learning curve (mean over seeds; 95 % interval: {', '.join(kinds)})")
    return figure


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.1f}"


def markdown_tables(runs: Sequence[CurveRun], baseline: str = "label-only") -> str:
    """Per-run accuracies, per-point means with intervals, and paired differences to ``baseline``."""
    runs = sorted(runs, key=lambda r: (r.size, r.series, r.seed is None, r.seed or 0))
    lines = ["### Runs", "", "| series | train rows | seed | label acc. (%) | Wilson 95 % | test rows "
             "| most predicted label | train (min) | train + eval (min) |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in runs:
        lo, hi = r.wilson()
        minutes = [("–" if s is None else f"{s / 60:.1f}") for s in (r.train_seconds, r.wall_seconds)]
        top = "–" if r.top_label is None else f"{r.top_label[0]} ({_pct(r.top_label[1])} %)"
        lines.append(f"| {r.series} | {r.size:,} | {r.seed} | {_pct(r.accuracy)} | {_pct(lo)}–{_pct(hi)} "
                     f"| {r.n:,} | {top} | {minutes[0]} | {minutes[1]} |")
    lines += ["", "### Mean over seeds", "", "| series | train rows | seeds | per seed (%) | mean (%) "
              "| 95 % interval | interval |", "|---|---|---|---|---|---|---|"]
    for p in sorted(curve_points(runs), key=lambda p: (p.size, p.series)):
        per_seed = " / ".join(_pct(a) for a in p.accuracies)
        lines.append(f"| {p.series} | {p.size:,} | {len(p.seeds)} | {per_seed} | {_pct(p.mean)} "
                     f"| {_pct(p.low)}–{_pct(p.high)} | {p.interval} |")
    diffs = [d for size in sorted({r.size for r in runs})
             for name in dict.fromkeys(r.series for r in runs) if name != baseline
             if (d := paired_difference(runs, name, baseline, size)) is not None]
    if diffs:
        lines += ["", f"### Paired difference to {baseline} (same seeds, same test rows)", "",
                  "| series | train rows | seeds | rows | difference (points) | bootstrap 95 % "
                  "| right only here / only baseline | McNemar p | | rows to separate* |",
                  "|---|---|---|---|---|---|---|---|---|---|"]
        for d in diffs:
            needed = "–" if d["rows_needed"] is None else f"~{d['rows_needed']:,}"
            lines.append(f"| {d['series']} | {d['size']:,} | {d['seeds']} | {d['rows']:,} "
                         f"| {100 * d['difference']:+.1f} | {100 * d['low']:+.1f} to {100 * d['high']:+.1f} "
                         f"| {d['better']} / {d['worse']} | {d['mcnemar_p']:.3f} | {d['verdict']} | {needed} |")
        lines += ["", "*Paired rows a McNemar test at 5 % with 80 % power would need if the observed "
                  "difference and share of discordant rows held."]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rdistill.reporting.learning_curve",
                                     description="learning-curve figure and tables of a sweep folder")
    parser.add_argument("sweeps", nargs="+", metavar="SWEEP",
                        help="sweep folders (one per training-set size when sizes train for other steps)")
    parser.add_argument("--output-dir", required=True)
    parser.add_argument("--baseline", default="label-only", help="series the others are compared with")
    parser.add_argument("--predictions", metavar="PATH",
                        help="predictions file inside each run folder to score instead of the one training "
                             "wrote, where a run has it (e.g. eval/full.predictions.jsonl from rdistill eval)")
    args = parser.parse_args(argv)
    if args.predictions and Path(args.predictions).is_absolute():
        parser.error(f"--predictions {args.predictions}: give a path inside each run folder")
    try:
        runs = [run for sweep in args.sweeps for run in curve_runs(load_sweep(sweep).variants, args.predictions)]
    except DataError as err:
        parser.exit(2, f"error: {err}\n")
    points = Counter((r.series, r.size, r.seed) for r in runs)
    twice = sorted(f"{s} at {n:,} rows, seed {seed}" for (s, n, seed), k in points.items() if k > 1)
    if twice:
        parser.error("the same run is in more than one sweep folder: " + "; ".join(twice))
    out = Path(args.output_dir)
    buffer = io.BytesIO()
    with house_style():  # as rdistill plot saves its figures
        learning_curve(curve_points(runs)).savefig(buffer, format="png", dpi=200, metadata={"Software": None})
    write_bytes_atomic(out / "learning_curve.png", buffer.getvalue())
    write_text_atomic(out / "learning_curve_tables.md", markdown_tables(runs, args.baseline))
    print(f"{len(runs)} runs -> {out / 'learning_curve.png'}, {out / 'learning_curve_tables.md'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
