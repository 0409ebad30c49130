"""A recipe's rows: load its data file(s), attach teacher rationales, split deterministically.

Every method and every later command (``eval`` on the run's own split, ``profile``,
``teach``, ``extract``) rebuilds the same splits from a config and its seed, so the
held-out rows of a run are known without storing them.
"""

from __future__ import annotations

from dataclasses import dataclass

from rdistill.config import RunConfig
from rdistill.data.example import Example
from rdistill.data.paths import resolve_data_path
from rdistill.data.splits import split_examples
from rdistill.errors import ConfigError, DataError
from rdistill.tasks.registry import get_task, load_dataset_file
from rdistill.tasks.teacher_report import teacher_report
from rdistill.tasks.teacher_sources import attach_teachers, teacher_specs

HUB_PREFIX = "hub:"


@dataclass
class Splits:
    train: list[Example]
    dev: list[Example]
    test: list[Example]
    summary: dict
    teachers: dict | None = None  # the per-teacher report (RUN/teachers.json), when there are teachers


def check_unique_uids(examples: list[Example], path) -> None:
    """Predictions, teacher files and caches are matched by uid: a repeated uid is refused at load,
    naming both rows, not found after training."""
    first: dict[str, Example] = {}
    for ex in examples:
        if ex.uid in first:
            raise DataError(f"{path}: uid {ex.uid!r} appears twice ({first[ex.uid].source or 'first row'} and "
                            f"{ex.source or 'a later row'}); every row needs its own uid")
        first[ex.uid] = ex


def load_rows(cfg: RunConfig, rel: str, teacher_files: list, data_dir: str | None,
              summary: dict) -> tuple[list[Example], dict | None]:
    """Examples of one data file with its teachers attached, and the per-teacher report."""
    task = get_task(cfg.data.dataset)
    if rel.startswith(HUB_PREFIX):  # hub:esnli:train -> the Hub data set, when online
        hub_name, _, split = rel[len(HUB_PREFIX):].partition(":")
        result = task.load_hub(split or "train", name=hub_name, skip_invalid=cfg.data.skip_invalid)
        path = rel
    else:
        path = resolve_data_path(rel, data_dir)
        result = load_dataset_file(cfg.data.dataset, path, skip_invalid=cfg.data.skip_invalid)
    summary[str(path)] = {"rows_read": result.n_read, "skipped": dict(result.skipped)}
    examples = result.examples
    check_unique_uids(examples, path)
    if teacher_files:
        specs = teacher_specs(teacher_files, lambda f: resolve_data_path(f, data_dir))
        # Alignment is by original row index, so rows skipped above do not shift the teacher file.
        examples, loaded, usage = attach_teachers(examples, specs, task=cfg.data.dataset,
                                                  n_rows=result.n_read, skip_invalid=cfg.data.skip_invalid)
        summary[str(path)]["teachers"] = loaded
        return examples, teacher_report(examples, [s.name for s in specs], usage)
    return examples, None


def prepare_splits(cfg: RunConfig, data_dir: str | None) -> Splits:
    """Load, attach teacher rationales, and split deterministically (seeded)."""
    summary: dict = {}
    examples, teachers = load_rows(cfg, cfg.data.train_file, cfg.data.teacher_files, data_dir, summary)
    # e-SNLI has ~3 hypotheses per premise: splitting by premise keeps test premises unseen.
    group_field = get_task(cfg.data.dataset).group_field
    if cfg.data.split_by == "premise" and group_field is None:
        raise ConfigError(f"data.split_by=premise but task '{cfg.data.dataset}' has no premise "
                          "(its rows are independent): set data.split_by=row")
    group = (lambda ex: ex.fields[group_field]) if cfg.data.split_by == "premise" else None
    if cfg.data.eval_file:
        train, dev, _ = split_examples(examples, dev_size=cfg.data.dev_size, test_size=0,
                                       seed=cfg.seed, group_key=group)
        test = load_rows(cfg, cfg.data.eval_file, [], data_dir, summary)[0][: cfg.data.test_size]
    else:
        train, dev, test = split_examples(examples, dev_size=cfg.data.dev_size,
                                          test_size=cfg.data.test_size, seed=cfg.seed, group_key=group)
    if cfg.data.train_size:
        train = train[: cfg.data.train_size]
    if not train:
        raise DataError("no training rows left after splitting: lower data.dev_size/data.test_size")
    summary["splits"] = {"train": len(train), "dev": len(dev), "test": len(test)}
    return Splits(train, dev, test, summary, teachers)
