"""The tiny e-SNLI file fixtures of ``tests/data`` (tasks attach teacher rationales to those rows).

Loaded from that conftest by path: test folders are not importable packages here.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

_spec = importlib.util.spec_from_file_location("data_fixtures", Path(__file__).parents[1] / "data" / "conftest.py")
_fixtures = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_fixtures)

ESNLI_ROWS = _fixtures.ESNLI_ROWS
write_jsonl = _fixtures.write_jsonl
write_csv = _fixtures.write_csv
esnli_rows = _fixtures.esnli_rows
csv_row_fixture = _fixtures.csv_row_fixture
esnli_file = _fixtures.esnli_file
write_palm = _fixtures.write_palm
