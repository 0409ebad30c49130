"""Write ProsQA-style train and held-out files from the tested generator (``generate_prosqa``).

The two files come from different seeds and are checked disjoint (no question in both);
every row passes ``check_prosqa_row``. Default shape: the published distribution. Smaller
rows for CPU-scale runs (docs/sweeps/prosqa-coconut/report.md):

    python bench/prosqa_data.py --out-dir /work/coconut-data --train 800 --test 500 \\
        --nodes 10-12 --path 3 --extra 0:3,1:1

writes ``prosqa_train.json`` (seed ``--seed``) and ``prosqa_test.json`` (seed ``--seed + 1``)
plus ``prosqa_data.json`` (the command's arguments, row counts, mean question words).
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path

from rdistill.data.prosqa import (EXTRA_PEOPLE, NODE_COUNTS, PATH_LENGTHS, check_prosqa_row, generate_prosqa,
                                  write_prosqa)
from rdistill.io import write_json_atomic


def histogram(text: str | None, default: dict[int, int]) -> dict[int, int]:
    """``"10-12"`` -> {10: 1, 11: 1, 12: 1}; ``"0:3,1:1"`` -> {0: 3, 1: 1}; ``"3"`` -> {3: 1}."""
    if not text:
        return dict(default)
    out: dict[int, int] = {}
    for part in text.split(","):
        if ":" in part:
            value, weight = part.split(":")
            out[int(value)] = int(weight)
        elif "-" in part:
            lo, hi = part.split("-")
            out.update({v: 1 for v in range(int(lo), int(hi) + 1)})
        else:
            out[int(part)] = 1
    return out


def main(argv: list[str] | None = None) -> dict[str, object]:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out-dir", required=True)
    p.add_argument("--train", type=int, default=800)
    p.add_argument("--test", type=int, default=500)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--nodes", default=None, help="node counts, e.g. 10-12 (default: published)")
    p.add_argument("--path", default=None, help="path lengths, e.g. 3 or 3:2,4:1 (default: published)")
    p.add_argument("--extra", default=None, help="extra people, e.g. 0:3,1:1 (default: published)")
    args = p.parse_args(argv)
    shape = {"node_counts": histogram(args.nodes, NODE_COUNTS), "path_lengths": histogram(args.path, PATH_LENGTHS),
             "extra_people": histogram(args.extra, EXTRA_PEOPLE)}
    train = generate_prosqa(args.train, seed=args.seed, **shape)
    test = generate_prosqa(args.test, seed=args.seed + 1, **shape)
    seen = {row["question"] for row in train}
    test = [row for row in test if row["question"] not in seen]
    if len(test) < args.test or any(check_prosqa_row(row) for row in train + test):
        raise SystemExit("generated rows overlap or fail check_prosqa_row")
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    write_prosqa(train, out / "prosqa_train.json")
    write_prosqa(test, out / "prosqa_test.json")
    summary = {"args": vars(args), "train_rows": len(train), "test_rows": len(test),
               "question_words_mean": statistics.mean(len(r["question"].split()) for r in train + test),
               "steps_mean": statistics.mean(len(r["steps"]) for r in train + test)}
    write_json_atomic(out / "prosqa_data.json", summary)
    print(summary)
    return summary


if __name__ == "__main__":
    main()
