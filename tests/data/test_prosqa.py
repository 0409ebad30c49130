"""ProsQA: the row checker, the generator, the writer and the loader; the 300 published rows."""

from __future__ import annotations

import copy
import json
import os
import statistics
from pathlib import Path

import pytest

from rdistill.data.prosqa import (CONCEPTS, INCONSISTENT, KEYS, NAMES, check_prosqa_row, generate_prosqa,
                                  load_prosqa, read_prosqa_rows, write_prosqa)
from rdistill.data.paths import DATA_DIR_ENV
from rdistill.errors import DataError

# Tom (root) -> wumpus -> zumpus (target); Sally (distractor) -> yumpus -> impus (neg_target).
ROW = {
    "question": "Every wumpus is a zumpus. Sally is a yumpus. Tom is a wumpus. Every yumpus is a impus. "
                "Is Tom a impus or zumpus?",
    "answer": "Tom is a zumpus.",
    "steps": ["Tom is a wumpus.", "Every wumpus is a zumpus."],
    "idx_to_symbol": ["Tom", "Sally", "wumpus", "yumpus", "zumpus", "impus"],
    "edges": [[0, 2], [1, 3], [2, 4], [3, 5]],
    "root": 0, "target": 4, "neg_target": 5,
}


def _row(**changes: object) -> dict[str, object]:
    row = copy.deepcopy(ROW)
    row.update(changes)
    return row


def _published() -> list[dict]:
    root = os.environ.get(DATA_DIR_ENV)
    if not root:
        pytest.skip(f"{DATA_DIR_ENV} is not set")
    path = Path(root) / "prosqa" / "prosqa_valid.json"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    return read_prosqa_rows(path)


def test_check_accepts_a_consistent_row():
    assert check_prosqa_row(ROW) == []


@pytest.mark.parametrize(("changes", "problem"), [
    ({"answer": "Tom is a impus."}, "answer 'Tom is a impus.' is not 'Tom is a zumpus.'"),
    ({"steps": ["Every wumpus is a zumpus."]}, "step 0 'Every wumpus is a zumpus.' does not continue from Tom"),
    ({"steps": ["Tom is a wumpus."]}, "the steps end at wumpus, not at the target zumpus"),
    ({"steps": ["Tom is a wumpus.", "Every wumpus is a impus."]},
     "step 1 'Every wumpus is a impus.' is not an edge sentence"),
    ({"question": ROW["question"].replace("Sally is a yumpus. ", "")}, "the question's sentences are not one per edge"),
    ({"question": ROW["question"].replace("or zumpus", "or yumpus")},
     "the question 'Is Tom a impus or yumpus?' does not offer target and neg_target for Tom"),
    ({"target": 5, "neg_target": 4}, "target is not reachable from the root only"),
    ({"root": 1}, "target is not reachable from the root only"),
    ({"edges": [[0, 2], [2, 4], [1, 3], [3, 5]]}, "edges are not listed by ascending head"),
    ({"idx_to_symbol": ["Tom", "sally", "wumpus", "yumpus", "zumpus", "impus"]},
     "the capitalised names are not exactly the nodes without parents"),
    ({"edges": [[0, 2]]}, "a node is in no edge"),
    ({"edges": [[0, 9]]}, "'edges' is not a list of [from, to] node pairs"),
    ({"root": "0"}, "'root' is not a node index"),
])
def test_check_names_the_problem(changes, problem):
    assert problem in check_prosqa_row(_row(**changes))


def test_check_catches_a_reachable_neg_target_and_a_detour():
    reachable = _row(edges=[[0, 2], [1, 3], [2, 4], [2, 5], [3, 5]],
                     question=ROW["question"].replace("Is Tom", "Every wumpus is a impus. Is Tom"))
    assert check_prosqa_row(reachable) == ["neg_target is not reachable from the distractor person only"]
    # A shortcut Tom -> zumpus makes the two-step path too long.
    shortcut = _row(edges=[[0, 2], [1, 3], [0, 4], [2, 4], [3, 5]],
                    question=ROW["question"].replace("Is Tom", "Tom is a zumpus. Is Tom"))
    assert check_prosqa_row(shortcut) == ["2 steps, but the shortest path has 1"]
    assert check_prosqa_row({"question": "q"})[0].startswith("missing keys")


def test_generated_rows_are_consistent_deterministic_and_published_layout():
    rows = generate_prosqa(60, seed=11)
    assert rows == generate_prosqa(60, seed=11)
    assert rows != generate_prosqa(60, seed=12)
    assert all(check_prosqa_row(row) == [] for row in rows)
    layout = [(key, type(value)) for key, value in ROW.items()]
    assert all([(key, type(value)) for key, value in row.items()] == layout for row in rows)
    assert list(ROW) == list(KEYS)
    words = {w for row in rows for w in row["idx_to_symbol"]}
    assert words <= set(NAMES) | set(CONCEPTS)
    with pytest.raises(ValueError, match="distinct"):
        generate_prosqa(1, seed=0, names=("Tom",))


def test_write_then_load_round_trip(tmp_path):
    rows = generate_prosqa(5, seed=0)
    path = tmp_path / "prosqa_train.json"
    write_prosqa(rows, path)
    assert read_prosqa_rows(path) == rows
    assert path.read_text() == json.dumps(rows)  # one line, like the published file
    result = load_prosqa(path)
    first = result.examples[0]
    assert first.uid == "prosqa_train:0" and first.source == f"{path}:0"
    assert first.fields == {"question": rows[0]["question"]} and first.label == rows[0]["answer"]
    assert first.steps == tuple(rows[0]["steps"]) and first.explanations == ("\n".join(rows[0]["steps"]),)
    assert result.n_read == 5 and not result.counts


def test_loader_bad_rows_name_file_item_and_field(tmp_path):
    rows = [ROW, _row(steps="Tom is a wumpus."), [1], _row(answer=""), {"answer": "a", "steps": ["s"]},
            _row(answer="Tom is a impus.")]
    path = tmp_path / "prosqa_valid.json"
    path.write_text(json.dumps(rows))
    with pytest.raises(DataError, match=r"prosqa_valid.json item 1: field 'steps' is 'Tom is a wumpus.'"):
        load_prosqa(path)
    result = load_prosqa(path, skip_invalid=True)
    assert result.n_read == 6 and len(result.examples) == 2
    assert result.skipped == {"bad value: steps": 1, "not a JSON object": 1, "empty field: answer": 1,
                              "missing field: question": 1}
    assert result.counts == {INCONSISTENT: 1}  # loads, but the answer is the neg_target
    path.write_text('{"question": "q"}')
    with pytest.raises(DataError, match="expected one JSON array"):
        load_prosqa(path)
    path.write_text('[{"question": ')
    with pytest.raises(DataError, match="line 1: malformed JSON"):
        load_prosqa(path)


@pytest.mark.real_data
def test_every_published_row_passes_the_check_and_loads():
    rows = _published()
    assert len(rows) == 300
    assert [i for i, row in enumerate(rows) if check_prosqa_row(row)] == []
    assert all(list(row) == list(KEYS) for row in rows)
    assert {w for row in rows for w in row["idx_to_symbol"]} == set(NAMES) | set(CONCEPTS)
    path = Path(os.environ[DATA_DIR_ENV]) / "prosqa" / "prosqa_valid.json"
    result = load_prosqa(path)
    assert result.n_read == len(result.examples) == 300 and not result.counts
    assert result.examples[0].steps == ("Tom is a terpus.", "Every terpus is a brimpus.", "Every brimpus is a lempus.")


@pytest.mark.real_data
def test_writer_reproduces_the_published_file(tmp_path):
    rows = _published()
    write_prosqa(rows, tmp_path / "copy.json")
    published = Path(os.environ[DATA_DIR_ENV]) / "prosqa" / "prosqa_valid.json"
    assert (tmp_path / "copy.json").read_bytes() == published.read_bytes()


def _summary(rows: list[dict]) -> dict[str, float]:
    return {
        "steps": statistics.mean(len(r["steps"]) for r in rows),
        "nodes": statistics.mean(len(r["idx_to_symbol"]) for r in rows),
        "edges": statistics.mean(len(r["edges"]) for r in rows),
        "people": statistics.mean(sum(w[0].isupper() for w in r["idx_to_symbol"]) for r in rows),
        "root is node 1": statistics.mean(r["root"] for r in rows),
    }


@pytest.mark.real_data
def test_generated_distribution_matches_the_published_one():
    published = _summary(_published())
    generated = _summary(generate_prosqa(300, seed=0))
    # Published: 3.75 steps, 22.8 nodes, 36.3 edges, 2.51 people, root = node 1 in 65% of rows.
    # Measured over seeds 0-5: 300 generated rows stay within 70% of each tolerance.
    tolerance = {"steps": 0.15, "nodes": 0.5, "edges": 1.5, "people": 0.2, "root is node 1": 0.07}
    for key, allowed in tolerance.items():
        assert abs(generated[key] - published[key]) <= allowed, (key, generated[key], published[key])


def test_default_generator_output_is_unchanged_by_the_shape_knobs():
    # sha256 of json.dumps(generate_prosqa(40, seed=3)) before node_counts / path_lengths /
    # extra_people existed: the default stays the published distribution, row for row.
    import hashlib
    rows = generate_prosqa(40, seed=3)
    assert hashlib.sha256(json.dumps(rows).encode()).hexdigest() == \
        "5e60ad23d08e0d4a3e0d47aff6af98e89e2b41cb448e6b4aba35533e4a036783"
    from rdistill.data.prosqa import EXTRA_PEOPLE, NODE_COUNTS, PATH_LENGTHS
    assert rows == generate_prosqa(40, seed=3, node_counts=NODE_COUNTS, path_lengths=PATH_LENGTHS,
                                   extra_people=EXTRA_PEOPLE)


@pytest.mark.parametrize("nodes, paths, extra", [({10: 1, 11: 1, 12: 1}, {3: 1}, {0: 3, 1: 1}),
                                                 ({8: 1}, {2: 1, 3: 1}, {0: 1}),
                                                 ({14: 1}, {4: 1, 5: 1}, {2: 1})])
def test_smaller_shapes_keep_every_invariant_and_the_asked_sizes(nodes, paths, extra):
    rows = generate_prosqa(80, seed=5, node_counts=nodes, path_lengths=paths, extra_people=extra)
    assert all(check_prosqa_row(row) == [] for row in rows)
    assert {len(r["idx_to_symbol"]) for r in rows} <= set(nodes)
    assert {len(r["steps"]) for r in rows} == set(paths)  # 80 rows draw every length asked
    people = {sum(w[0].isupper() for w in r["idx_to_symbol"]) - 2 for r in rows}
    assert people <= set(extra)
    published_words = statistics.mean(len(r["question"].split()) for r in generate_prosqa(80, seed=5))
    assert statistics.mean(len(r["question"].split()) for r in rows) < published_words


@pytest.mark.parametrize("kwargs, match", [({"node_counts": {6: 1}}, "shape out of range"),
                                           ({"node_counts": {10: 1}, "path_lengths": {5: 1}}, "path"),
                                           ({"node_counts": {10: 1}, "extra_people": {4: 1}}, "extra people"),
                                           ({"path_lengths": {}}, "positive weights"),
                                           ({"path_lengths": {3: 0}}, "positive weights")])
def test_shapes_that_cannot_be_drawn_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        generate_prosqa(1, seed=0, **kwargs)
