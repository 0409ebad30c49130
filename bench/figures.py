"""The benchmarks page's figures, drawn from the benches' JSON results (no model, no timing).

One PNG per benchmark of the performance issue, each from the JSON files its bench wrote:

- ``train_step.png``  seconds per step (plain HF step, rdistill's step, ``trainer.train()``)
  and MFU against the >= 60 % target, per recipe and machine (``bench/train_step.py``);
- ``precision.png``   the ``precision: auto`` probe's fp32 and bf16 GFLOP/s per machine;
- ``loop_vs_run.png`` a real run's measured seconds per logging interval against the
  bench's prediction (``bench/loop_vs_run.py``);
- ``peers.png``       examples/s per peer, and dev label accuracy after equal wall time
  (``bench/peers.py``);
- ``contention.png``  the step alone, beside a torch neighbour with the default threads, and
  with ``num_threads: auto`` (``bench/contention.py``);
- ``serving.png``     examples/s over the PyTorch path against label agreement, per engine
  and student, with the target corner (``bench/serving.py``).

Inputs are ``FILE=LABEL`` (the label names the recipe and machine; a bare FILE is labelled by
its name); the defaults are the committed results under ``--results``:

    python bench/figures.py --output-dir docs/benchmarks
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rdistill.io import write_bytes_atomic
from rdistill.reporting.figures import figure_bytes
from rdistill.reporting.style import PALETTE, label_points, new_figure, plain_log_ticks, styled

RESULTS = Path(__file__).resolve().parent / "results"
MFU_TARGET = 0.60
CONTENTION_TARGET = 2.0  # at most 2x the step alone
SERVING_TARGETS = {"speedup": 5.0, "agreement": 0.99}

# The committed results and the machine each was measured on (docs/benchmarks.md says more).
DEFAULTS = {
    "train_step": ["train_step.json=main recipe, Intel Xeon (AMX)",
                   "train_step_quiet.json=main recipe, AMD Zen 4",
                   "train_step_main_loop.json=main recipe, AMD Zen 4 (with loop)",
                   "train_step_quickstart.json=quick start, AMD Zen 4",
                   "train_step_quickstart_fp32.json=quick start fp32, AMD Zen 4"],
    "precision": ["peers.json=Intel Xeon (AMX)", "train_step_quiet.json=AMD Zen 4",
                  "train_step_main_loop.json=AMD Zen 4, another hour"],
    "loop_vs_run": ["loop_vs_run_quickstart.json=quick start, AMD Zen 4"],
    "peers": ["peers.json=fixed steps, Intel Xeon (AMX)", "peers_equal_wall.json=180 s each, AMD Zen 4"],
    "contention": ["contention.json=Intel Xeon (AMX)"],
    "serving": ["serving.json=quick-start student, Intel Xeon (AMX)",
                "serving_main.json=main-recipe student, AMD Zen 4",
                "serving_bf16.json=weak 1k-row student, AMD Zen 4 (loaded)"],
}


class BenchFileError(Exception):
    """A result file that is missing, not JSON, or lacks a key a figure needs."""


class Result:
    """One bench JSON file with its label; ``get`` names the file and key when one is missing."""

    def __init__(self, path: Path, label: str):
        self.path, self.label = path, label
        try:
            self.data = json.loads(path.read_text())
        except FileNotFoundError:
            raise BenchFileError(f"{path}: no such file") from None
        except json.JSONDecodeError as exc:
            raise BenchFileError(f"{path}: line {exc.lineno}: not valid JSON ({exc.msg})") from None

    def get(self, *keys: str) -> Any:
        value: Any = self.data
        for depth, key in enumerate(keys):
            if not isinstance(value, dict) or key not in value:
                raise BenchFileError(f"{self.path}: key '{'.'.join(keys[:depth + 1])}' missing")
            value = value[key]
        return value


def load(specs: list[str], results: Path) -> list[Result]:
    loaded = []
    for spec in specs:
        name, _, label = spec.partition("=")
        path = Path(name) if Path(name).is_absolute() or Path(name).exists() else results / name
        loaded.append(Result(path, label or path.stem))
    return loaded


# --- What each figure plots, as rows (tested apart from the drawing) ---

def train_step_rows(results: list[Result]) -> list[dict]:
    return [{"label": r.label, "plain_s": r.get("plain_step_s"), "rdistill_s": r.get("rdistill_step_s"),
             "loop_s": r.data.get("loop_step_s"), "mfu": r.get("mfu"), "mfu_plain": r.get("mfu_plain"),
             "peak_gflops": r.get("matmul_peak_flops") / 1e9} for r in results]


def precision_rows(results: list[Result]) -> list[dict]:
    return [{"label": r.label, "fp32": r.get("precision", "probe", "fp32_gflops"),
             "bf16": r.get("precision", "probe", "bf16_gflops"), "choice": r.get("precision", "choice")}
            for r in results]


def loop_vs_run_rows(results: list[Result]) -> list[dict]:
    rows = []
    for r in results:
        for interval in r.get("intervals"):
            kind = "evaluation" if interval.get("evaluation") else "save" if interval.get("save") else "steps"
            rows.append({"label": r.label, "kind": kind, "measured_s": interval["seconds"],
                         "predicted_s": interval["predicted_s"]})
    return rows


def peers_rows(results: list[Result]) -> list[dict]:
    rows = []
    for r in results:
        for name, peer in r.get("peers").items():
            rows.append({"label": r.label, "peer": name, "examples_per_s": peer["examples_per_s"],
                         "dev_label_accuracy": peer.get("dev_label_accuracy"), "dev_rows": peer.get("dev_rows")})
    return rows


def contention_rows(results: list[Result]) -> list[dict]:
    return [{"label": r.label, "alone_s": r.get("alone_step_s"), "before_s": r.get("before_step_s"),
             "after_s": r.get("after_step_s"), "after_threads": r.get("threads", "after")} for r in results]


def serving_rows(results: list[Result]) -> list[dict]:
    rows = []
    for r in results:
        for engine, numbers in r.get("engines").items():
            if engine == "pytorch":  # the reference: speedup 1, agreement 1 by definition
                continue
            rows.append({"label": r.label, "engine": engine,
                         "speedup": numbers["examples_per_s_over_pytorch"],
                         "agreement": numbers["label_agreement"], "rouge_l": numbers["rouge_l_vs_pytorch"]})
    return rows


# --- Drawing ---

def _bars(ax, groups: list[str], series: dict[str, list[float | None]], fmt: str,
          colors: tuple[str, ...] = PALETTE) -> None:
    """Grouped bars, one group per x label, each value printed on its bar (None: no bar)."""
    width = 0.8 / len(series)
    for i, (name, values) in enumerate(series.items()):
        xs = [g + (i - (len(series) - 1) / 2) * width for g in range(len(groups))]
        kept = [(x, v) for x, v in zip(xs, values) if v is not None]
        bars = ax.bar([x for x, _ in kept], [v for _, v in kept], width, label=name, color=colors[i])
        ax.bar_label(bars, fmt=fmt, fontsize=7, padding=1)
    ax.set_xticks(range(len(groups)), [g.replace(", ", ",\n") for g in groups])
    ax.set_ylim(0, ax.get_ylim()[1] * 1.25)  # headroom for the legend above the bars


@styled
def plot_train_step(rows: list[dict]):
    figure = new_figure(6.0)
    step_ax, mfu_ax = figure.subplots(2, 1)
    groups = [r["label"] for r in rows]
    plain, ours, loop = PALETTE[0], PALETTE[1], PALETTE[2]  # one colour per step kind in both panels
    _bars(step_ax, groups, {"plain HF step": [r["plain_s"] for r in rows],
                            "rdistill step": [r["rdistill_s"] for r in rows],
                            "trainer.train() on the same batches": [r["loop_s"] for r in rows]}, "%.2f",
          (plain, ours, loop))
    step_ax.set_ylabel("seconds per batch-16 step")
    step_ax.set_title("Step time (lower is better)")
    step_ax.legend(loc="upper left", ncols=3)
    _bars(mfu_ax, groups, {"plain HF step": [r["mfu_plain"] for r in rows],
                           "rdistill step": [r["mfu"] for r in rows]}, "%.2f", (plain, ours))
    mfu_ax.axhline(MFU_TARGET, color="black", linestyle="--", linewidth=0.8, label="target 0.60")
    mfu_ax.set_ylim(0, 1)
    mfu_ax.set_ylabel("MFU (of the measured\nmatmul peak, own dtype)")
    mfu_ax.set_title("Model FLOPs utilisation (higher is better)")
    mfu_ax.legend(loc="upper left", ncols=3)
    return figure


@styled
def plot_precision(rows: list[dict]):
    figure = new_figure(3.4)
    ax = figure.subplots()
    _bars(ax, [r["label"] for r in rows], {"fp32": [r["fp32"] for r in rows],
                                           "bf16 autocast": [r["bf16"] for r in rows]}, "%.0f")
    ax.set_ylabel("GFLOP/s at the step's matmul shapes")
    ax.set_title("precision: auto probe; it takes bf16 when >= 1.1x fp32")
    ax.legend()
    return figure


@styled
def plot_loop_vs_run(rows: list[dict]):
    figure = new_figure(3.8, 4.4)
    ax = figure.subplots()
    top = max(max(r["measured_s"], r["predicted_s"]) for r in rows) * 1.05
    ax.fill_between([0, top], [0, 0.9 * top], [0, 1.1 * top], color="grey", alpha=0.15, label="within 10 %")
    ax.plot([0, top], [0, top], color="black", linewidth=0.8)
    for i, kind in enumerate(("steps", "save", "evaluation")):
        chosen = [r for r in rows if r["kind"] == kind]
        if chosen:
            ax.scatter([r["predicted_s"] for r in chosen], [r["measured_s"] for r in chosen], s=14,
                       color=PALETTE[i], label={"steps": "steps only", "save": "with a checkpoint save",
                                                "evaluation": "with a dev evaluation"}[kind])
    ax.set_xlim(0, top)
    ax.set_ylim(0, top)
    ax.set_xlabel("bench's prediction (s per logging interval)")
    ax.set_ylabel("the run's measured seconds")
    ax.set_title(f"Bench vs a real run: {', '.join(sorted({r['label'] for r in rows}))}", fontsize=8)
    ax.legend(loc="upper left")
    return figure


@styled
def plot_peers(rows: list[dict]):
    labels = list(dict.fromkeys(r["label"] for r in rows))
    figure = new_figure(3.6)
    speed_ax, acc_ax = figure.subplots(1, 2)
    peers = list(dict.fromkeys(r["peer"] for r in rows))
    speed = {label: [next((r["examples_per_s"] for r in rows if r["label"] == label and r["peer"] == p), None)
                     for p in peers] for label in labels}
    _bars(speed_ax, peers, speed, "%.2f")
    speed_ax.set_ylabel("examples/s (batch 16, LoRA r=16)")
    speed_ax.set_title("Training throughput")
    speed_ax.legend(fontsize=7)
    scored = [r for r in rows if r["dev_label_accuracy"] is not None]
    if scored:
        bars = acc_ax.bar([r["peer"] for r in scored], [100 * r["dev_label_accuracy"] for r in scored],
                          color=PALETTE[1])
        acc_ax.bar_label(bars, fmt="%.1f", fontsize=7, padding=1)
        acc_ax.axhline(100 / 3, color="black", linestyle=":", linewidth=0.8)
        acc_ax.set_ylabel(f"dev label accuracy (%), {scored[0]['dev_rows']} rows")
        acc_ax.set_title(f"After equal wall time ({scored[0]['label']})", fontsize=8)
    for ax in (speed_ax, acc_ax):
        ax.tick_params(axis="x", labelsize=7)
    return figure


@styled
def plot_contention(rows: list[dict]):
    figure = new_figure(3.2)
    ax = figure.subplots()
    names = ["alone (2 threads)", "beside a torch neighbour,\ndefault 2 threads",
             "beside it, num_threads: auto"]
    for i, row in enumerate(rows):
        values = [row["alone_s"], row["before_s"], row["after_s"]]
        bars = ax.barh([f"{n}\n({row['label']})" if len(rows) > 1 else n for n in names], values,
                       color=[PALETTE[0], PALETTE[1], PALETTE[2]])
        ax.bar_label(bars, labels=[f"{v:.2f} s ({v / row['alone_s']:.1f}x)" for v in values],
                     fontsize=7, padding=2)
        ax.axvline(CONTENTION_TARGET * row["alone_s"], color="black", linestyle="--", linewidth=0.8)
    ax.set_xscale("log")
    plain_log_ticks(ax.xaxis)
    ax.set_xlim(1, max(r["before_s"] for r in rows) * 3)  # room for the value printed after the bar
    ax.set_xlabel("seconds per step (log scale); dashed: 2x alone, the target")
    ax.set_title(f"Sharing the cores ({', '.join(r['label'] for r in rows)})")
    ax.invert_yaxis()
    return figure


@styled
def plot_serving(rows: list[dict]):
    figure = new_figure(3.8)
    ax = figure.subplots()
    ax.fill_between([SERVING_TARGETS["speedup"], 6.5], SERVING_TARGETS["agreement"], 1.005,
                    color=PALETTE[2], alpha=0.2, label="target: >= 5x at >= 99 %")
    markers = "osD^v"
    for i, label in enumerate(dict.fromkeys(r["label"] for r in rows)):
        chosen = [r for r in rows if r["label"] == label]
        ax.scatter([r["speedup"] for r in chosen], [r["agreement"] for r in chosen], s=22,
                   marker=markers[i % len(markers)], color=PALETTE[i], label=label)
    ax.axvline(1, color="black", linewidth=0.6)
    ax.set_xlim(0, 6.5)
    ax.set_ylim(min(0.5, min(r["agreement"] for r in rows) - 0.02), 1.005)
    label_points(ax, [r["speedup"] for r in rows], [r["agreement"] for r in rows],
                 [r["engine"].replace("ctranslate2_", "CT2 ").replace("pytorch_", "PyTorch ") for r in rows],
                 fontsize=6)
    ax.set_xlabel("examples/s over the PyTorch fp32 path (same rows, batch 32)")
    ax.set_ylabel("label agreement with PyTorch fp32")
    ax.set_title("Serving the student")
    ax.legend(loc="lower right", fontsize=7)
    return figure


FIGURES: dict[str, tuple[Callable[[list[Result]], list[dict]], Callable[[list[dict]], Any]]] = {
    "train_step": (train_step_rows, plot_train_step),
    "precision": (precision_rows, plot_precision),
    "loop_vs_run": (loop_vs_run_rows, plot_loop_vs_run),
    "peers": (peers_rows, plot_peers),
    "contention": (contention_rows, plot_contention),
    "serving": (serving_rows, plot_serving),
}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--output-dir", required=True, help="where the PNG files go")
    p.add_argument("--results", default=str(RESULTS), help="folder the default and relative inputs are read from")
    p.add_argument("--only", default=",".join(FIGURES), help=f"comma-separated, of {', '.join(FIGURES)}")
    for name in FIGURES:
        p.add_argument(f"--{name.replace('_', '-')}", dest=name, action="append", metavar="FILE=LABEL",
                       help=f"input(s) for {name}.png (default: the committed results)")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    names = [n.strip() for n in args.only.split(",") if n.strip()]
    unknown = [n for n in names if n not in FIGURES]
    if unknown:
        print(f"error: --only: unknown figure {unknown[0]!r} (known: {', '.join(FIGURES)})", file=sys.stderr)
        return 2
    try:  # every input read and checked before anything is drawn or written
        tables = {name: FIGURES[name][0](load(getattr(args, name) or DEFAULTS[name], Path(args.results)))
                  for name in names}
    except BenchFileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    out = Path(args.output_dir)
    for name, rows in tables.items():
        write_bytes_atomic(out / f"{name}.png", figure_bytes(FIGURES[name][1](rows), "png"))
        print(f"{out / name}.png: {len(rows)} rows")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
