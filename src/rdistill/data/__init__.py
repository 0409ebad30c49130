"""Data loading: every loader returns ``Example`` records in a ``LoadResult``."""

from rdistill.data.anli import load_anli, load_anli_hub
from rdistill.data.cqa import load_cqa, load_cqa_hub
from rdistill.data.esnli import LABELS as ESNLI_LABELS
from rdistill.data.esnli import load_esnli, load_esnli_hub
from rdistill.data.example import Example, TeacherRationale
from rdistill.data.load_result import LoadResult
from rdistill.data.palm import (
    ANSWER_FORMATS,
    attach_palm_rationales,
    parse_palm,
    parse_palm_esnli,
)
from rdistill.data.registry import LOADERS, load_dataset_file, resolve_data_path
from rdistill.data.splits import split_examples
from rdistill.data.tasks import TASKS, Task, get_task
from rdistill.data.teachers import majority_label, select_targets

__all__ = [
    "ANSWER_FORMATS",
    "ESNLI_LABELS",
    "LOADERS",
    "Example",
    "TASKS",
    "Task",
    "LoadResult",
    "TeacherRationale",
    "attach_palm_rationales",
    "get_task",
    "load_anli",
    "load_anli_hub",
    "load_cqa",
    "load_cqa_hub",
    "load_dataset_file",
    "load_esnli",
    "load_esnli_hub",
    "majority_label",
    "parse_palm",
    "parse_palm_esnli",
    "resolve_data_path",
    "select_targets",
    "split_examples",
]
