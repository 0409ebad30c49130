"""Data loading: every loader returns ``Example`` records in a ``LoadResult``.

Loaders know files and rows; which loader a task uses, its prompt and its answer
rules live in :mod:`rdistill.tasks` (which imports this package, never the reverse).
"""

from rdistill.data.example import Example, TeacherRationale
from rdistill.data.load_result import LoadResult
from rdistill.data.paths import resolve_data_path
from rdistill.data.splits import split_examples

__all__ = ["Example", "LoadResult", "TeacherRationale", "resolve_data_path", "split_examples"]
