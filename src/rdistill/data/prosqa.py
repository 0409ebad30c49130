"""ProsQA (COCONUT, Hao et al. 2024): "is-a" reasoning over a random DAG of made-up concepts.

The published layout is one JSON array of objects::

    {"question": "Every shumpus is a rempus. ... Tom is a terpus. ... Is Tom a lempus or scrompus?",
     "answer": "Tom is a lempus.",
     "steps": ["Tom is a terpus.", "Every terpus is a brimpus.", "Every brimpus is a lempus."],
     "idx_to_symbol": ["Davis", "Tom", "shumpus", ...], "edges": [[0, 2], [1, 3], ...],
     "root": 1, "target": 16, "neg_target": 13}

Nodes are people (capitalised names, the nodes without parents) and concepts
(made-up words ending in "pus"). Each edge ``[a, b]`` is one sentence of the
question, ``"Every <a> is a <b>."`` or, from a person, ``"<a> is a <b>."``, in
shuffled order. The invariants :func:`check_prosqa_row` verifies all hold on the 300
published rows; the shape distributions :func:`generate_prosqa` draws from were
measured on them. ``Example.steps`` are the step sentences (a shortest path from
the person asked about to the answer concept).
"""

from __future__ import annotations

import json
import random
import re
from collections import deque
from collections.abc import Mapping, Sequence
from pathlib import Path

from rdistill.data.example import Example
from rdistill.data.json_rows import RawRow, RowError, collect, require_file, short_repr, text_field
from rdistill.data.load_result import LoadResult
from rdistill.errors import DataError
from rdistill.io import write_text_atomic

INCONSISTENT = "inconsistent (check_prosqa_row)"
KEYS = ("question", "answer", "steps", "idx_to_symbol", "edges", "root", "target", "neg_target")

# The vocabulary of the published rows (ProntoQA-style made-up words), all of it.
NAMES = ("Alex", "Bob", "Carol", "Davis", "Eva", "Fae", "Gabriel", "Jack", "Max", "Oliver", "Polly",
         "Rex", "Sally", "Sam", "Stella", "Tom", "Wren")
CONCEPTS = ("bompus", "boompus", "brimpus", "chorpus", "dumpus", "felpus", "fompus", "gerpus", "gorpus",
            "grimpus", "gwompus", "hilpus", "impus", "jelpus", "jompus", "kerpus", "lempus", "lorpus",
            "numpus", "quimpus", "rempus", "rompus", "rorpus", "scrompus", "shumpus", "sterpus", "storpus",
            "terpus", "timpus", "tumpus", "vumpus", "worpus", "wumpus", "yerpus", "yimpus", "yumpus",
            "zhorpus", "zumpus")
# Histograms {value: rows (or nodes)} measured on the 300 published rows.
NODE_COUNTS = {17: 2, 18: 5, 19: 14, 20: 18, 21: 37, 22: 48, 23: 58, 24: 52, 25: 40, 26: 22, 27: 3, 28: 1}
PATH_LENGTHS = {3: 124, 4: 133, 5: 36, 6: 7}
EXTRA_PEOPLE = {0: 180, 1: 93, 2: 21, 3: 5, 4: 1}  # people besides nodes 0 and 1
CONCEPT_PARENTS = {1: 2989, 2: 1899, 3: 848, 4: 256, 5: 80, 6: 17, 7: 3}
# Tuned so that 300 generated rows match the published means (tests/data/test_prosqa.py):
# the root is node 1 in 195 of 300 rows and its side of the graph is the larger one;
# early nodes have few possible parents, so a concept gets one more parent now and then.
P_ROOT_IS_ONE = 0.65
P_ROOT_SIDE = 0.58
P_EXTRA_PARENT = 0.2
P_CROSS_SIDE = 0.03

_STEP = re.compile(r"(?:Every ([a-z]+)|([A-Z][a-z]*)) is a ([a-z]+)\.")
_ASK = re.compile(r"Is ([A-Z][a-z]*) a ([a-z]+) or ([a-z]+)\?")


def sentence(symbols: Sequence[str], a: int, b: int) -> str:
    """The question/step sentence of edge ``a -> b``."""
    if symbols[a][:1].isupper():
        return f"{symbols[a]} is a {symbols[b]}."
    return f"Every {symbols[a]} is a {symbols[b]}."


def _distances(children: list[list[int]], start: int) -> dict[int, int]:
    dist, queue = {start: 0}, deque([start])
    while queue:
        node = queue.popleft()
        for child in children[node]:
            if child not in dist:
                dist[child] = dist[node] + 1
                queue.append(child)
    return dist


def _layout_problems(row: Mapping[str, object]) -> list[str]:
    """Keys and types; a row with any of these problems is not checked further."""
    missing = [key for key in KEYS if key not in row]
    if missing:
        return [f"missing keys {missing}"]
    symbols, edges = row["idx_to_symbol"], row["edges"]
    problems = [f"'{key}' is not a string" for key in ("question", "answer") if not isinstance(row[key], str)]
    if not isinstance(row["steps"], list) or not all(isinstance(s, str) for s in row["steps"]):
        problems.append("'steps' is not a list of strings")
    if not isinstance(symbols, list) or not all(isinstance(s, str) and s.isalpha() for s in symbols):
        return problems + ["'idx_to_symbol' is not a list of words"]

    def in_range(value: object) -> bool:
        return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < len(symbols)

    if not isinstance(edges, list) or not all(isinstance(e, list) and len(e) == 2 and all(map(in_range, e))
                                              for e in edges):
        problems.append("'edges' is not a list of [from, to] node pairs")
    problems += [f"'{key}' is not a node index" for key in ("root", "target", "neg_target")
                 if not in_range(row[key])]
    return problems


def check_prosqa_row(row: Mapping[str, object]) -> list[str]:
    """Problems of one ProsQA row (empty list: consistent). All hold on the 300 published rows.

    Graph: node names are unique; every edge goes from a lower to a higher index, no
    edge twice, listed by ascending head; the people (capitalised) are exactly the
    nodes without parents; every node is in an edge. Question: one sentence per edge
    (any order) and ``"Is <root> a <x> or <y>?"`` offering target and neg_target.
    Answer: ``"<root> is a <target>."``. The root is person 0 or 1 and the other one
    is the distractor: the target is reachable from the root and not from the
    distractor, the neg_target from the distractor and not from the root, both are
    concepts without children. Steps: a shortest path from root to target, one edge
    sentence each.
    """
    problems = _layout_problems(row)
    if problems:
        return problems
    symbols: list[str] = row["idx_to_symbol"]
    edges = [tuple(e) for e in row["edges"]]
    root, target, neg = row["root"], row["target"], row["neg_target"]
    n = len(symbols)
    if len(set(symbols)) != n:
        problems.append("'idx_to_symbol' repeats a name")
    if any(a >= b for a, b in edges):
        problems.append("an edge goes from a higher to a lower index")
    if len(set(edges)) != len(edges):
        problems.append("an edge is listed twice")
    if [b for _, b in edges] != sorted(b for _, b in edges):
        problems.append("edges are not listed by ascending head")
    children: list[list[int]] = [[] for _ in range(n)]
    has_parent = [False] * n
    for a, b in edges:
        children[a].append(b)
        has_parent[b] = True
    people = [i for i in range(n) if symbols[i][0].isupper()]
    if people != [i for i in range(n) if not has_parent[i]]:
        problems.append("the capitalised names are not exactly the nodes without parents")
    if any(not children[i] and not has_parent[i] for i in range(n)):
        problems.append("a node is in no edge")
    if root not in (0, 1) or not symbols[root][0].isupper():
        problems.append(f"root {root} is not person 0 or 1")
    if target == neg or not symbols[target].islower() or not symbols[neg].islower():
        problems.append("target and neg_target are not two different concepts")
    if problems:
        return problems

    sentences = re.split(r"(?<=[.?]) ", row["question"])
    if sorted(sentences[:-1]) != sorted(sentence(symbols, a, b) for a, b in edges):
        problems.append("the question's sentences are not one per edge")
    asked = _ASK.fullmatch(sentences[-1])
    if not asked or asked.group(1) != symbols[root] or \
            sorted(asked.group(2, 3)) != sorted((symbols[target], symbols[neg])):
        problems.append(f"the question {short_repr(sentences[-1])} does not offer target and neg_target "
                        f"for {symbols[root]}")
    if row["answer"] != f"{symbols[root]} is a {symbols[target]}.":
        problems.append(f"answer {row['answer']!r} is not '{symbols[root]} is a {symbols[target]}.'")

    from_root, from_other = _distances(children, root), _distances(children, 1 - root)
    if target not in from_root or target in from_other:
        problems.append("target is not reachable from the root only")
    if neg in from_root or neg not in from_other:
        problems.append("neg_target is not reachable from the distractor person only")
    if children[target] or children[neg]:
        problems.append("target or neg_target has children")
    problems += _step_problems(row["steps"], symbols, set(edges), root, target, from_root.get(target))
    return problems


def _step_problems(steps: list[str], symbols: list[str], edges: set[tuple[int, int]], root: int,
                   target: int, shortest: int | None) -> list[str]:
    index = {name: i for i, name in enumerate(symbols)}
    node = root
    for k, step in enumerate(steps):
        match = _STEP.fullmatch(step)
        head, tail = (match.group(1) or match.group(2), match.group(3)) if match else (None, None)
        if head not in index or tail not in index or (index[head], index[tail]) not in edges \
                or step != sentence(symbols, index[head], index[tail]):
            return [f"step {k} {step!r} is not an edge sentence"]
        if index[head] != node:
            return [f"step {k} {step!r} does not continue from {symbols[node]}"]
        node = index[tail]
    if node != target:
        return [f"the steps end at {symbols[node]}, not at the target {symbols[target]}"]
    if len(steps) != shortest:
        return [f"{len(steps)} steps, but the shortest path has {shortest}"]
    return []


def _draw(rng: random.Random, histogram: Mapping[int, int]) -> int:
    return rng.choices(list(histogram), weights=list(histogram.values()))[0]


def _random_graph(rng: random.Random, n: int, extra_people: int, root: int) -> list[list[int]] | None:
    """Parents of each node, or None when an extra person got no child.

    Nodes 0 and 1 are people, the root and the distractor; extra people sit early.
    Each concept joins the root's side or the distractor's and draws its parents from
    earlier nodes of its side (and extra people), nearer ones likelier, which keeps
    paths 3-6 long; rarely a parent comes from the other side, as in the published rows.
    """
    people = set(rng.sample(range(2, int(0.6 * n)), extra_people)) | {0, 1}
    side = {root: "R", 1 - root: "D"}
    parents: list[list[int]] = [[], []]
    for i in range(2, n):
        if i in people:
            side[i] = "X"
            parents.append([])
            continue
        side[i] = "R" if rng.random() < P_ROOT_SIDE else "D"
        wanted = _draw(rng, CONCEPT_PARENTS) + (rng.random() < P_EXTRA_PARENT)
        chosen: list[int] = []
        for _ in range(wanted):
            pool = [j for j in range(i) if j not in chosen and (
                side[j] == side[i] or (side[j] == "X" and rng.random() < 0.5)
                or (side[j] != "X" and rng.random() < P_CROSS_SIDE))]
            if not pool:
                break
            chosen.append(rng.choices(pool, weights=[1 / (i - j) for j in pool])[0])
        parents.append(chosen)
    with_child = {p for ps in parents for p in ps}
    return parents if people <= with_child else None


def _question(rng: random.Random, parents: list[list[int]], root: int,
              length: int) -> tuple[int, int, list[int]] | None:
    """``(target, neg_target, path)`` with the target ``length`` steps away, or None."""
    n = len(parents)
    children: list[list[int]] = [[] for _ in range(n)]
    for b, ps in enumerate(parents):
        for a in ps:
            children[a].append(b)
    from_root, from_other = _distances(children, root), _distances(children, 1 - root)
    leaves = [i for i in range(n) if not children[i] and parents[i]]
    targets = [i for i in leaves if i in from_root and i not in from_other]
    negs = [i for i in leaves if i in from_other and i not in from_root]
    # Published targets are nearly always the deepest such leaf (257 of 300 rows).
    if not targets or not negs or max(from_root[i] for i in targets) != length:
        return None
    target = rng.choice([i for i in targets if from_root[i] == length])
    path = [target]
    while path[-1] != root:
        node = path[-1]
        path.append(rng.choice([p for p in parents[node] if from_root.get(p) == from_root[node] - 1]))
    return target, rng.choice(negs), path[::-1]


def _generate_row(rng: random.Random, names: Sequence[str], concepts: Sequence[str],
                  shape: tuple[Mapping[int, int], Mapping[int, int], Mapping[int, int]]) -> dict[str, object]:
    n, length, extra = (_draw(rng, histogram) for histogram in shape)
    root = 1 if rng.random() < P_ROOT_IS_ONE else 0
    while True:  # about 8 tries a row; the shape drawn above is kept, so its distribution is exact
        parents = _random_graph(rng, n, extra, root)
        picked = parents and _question(rng, parents, root, length)
        if picked:
            break
    target, neg, path = picked
    people = [i for i in range(n) if not parents[i]]
    person_names = iter(rng.sample(names, len(people)))
    concept_names = iter(rng.sample(concepts, n - len(people)))
    symbols = [next(person_names) if not parents[i] else next(concept_names) for i in range(n)]
    edges = [[a, b] for b in range(n) for a in parents[b]]
    facts = [sentence(symbols, a, b) for a, b in edges]
    rng.shuffle(facts)
    options = [symbols[target], symbols[neg]]
    rng.shuffle(options)
    return {
        "question": " ".join(facts + [f"Is {symbols[root]} a {options[0]} or {options[1]}?"]),
        "answer": f"{symbols[root]} is a {symbols[target]}.",
        "steps": [sentence(symbols, a, b) for a, b in zip(path, path[1:])],
        "idx_to_symbol": symbols, "edges": edges, "root": root, "target": target, "neg_target": neg,
    }


def generate_prosqa(n: int, *, seed: int, names: Sequence[str] = NAMES, concepts: Sequence[str] = CONCEPTS,
                    node_counts: Mapping[int, int] = NODE_COUNTS, path_lengths: Mapping[int, int] = PATH_LENGTHS,
                    extra_people: Mapping[int, int] = EXTRA_PEOPLE) -> list[dict[str, object]]:
    """``n`` rows in the published layout and distribution, deterministic for ``seed``.

    Node count, path length and number of people are drawn from the published
    histograms; the graph is grown as :func:`_random_graph` says. Every row passes
    :func:`check_prosqa_row`. ``names`` needs at least 6 entries, ``concepts`` 26.

    Smaller rows (shorter questions, for CPU-scale runs): pass other histograms
    ``{value: weight}``, e.g. ``node_counts={10: 1, 11: 1, 12: 1}, path_lengths={3: 1},
    extra_people={0: 3, 1: 1}``; the rows keep every invariant of :func:`check_prosqa_row`.
    Needs 8 <= nodes, 1 <= path length < nodes / 2 and extra people < 0.6 * nodes - 2.
    """
    if len(set(names)) != len(names) or len(set(concepts)) != len(concepts) \
            or len(names) < 6 or len(concepts) < 26:
        raise ValueError("need at least 6 distinct names and 26 distinct concepts")
    shape = (dict(node_counts), dict(path_lengths), dict(extra_people))
    if any(not h or any(w <= 0 for w in h.values()) for h in shape):
        raise ValueError("node_counts, path_lengths and extra_people need positive weights")
    if min(shape[0]) < 8 or min(shape[1]) < 1 or 2 * max(shape[1]) >= min(shape[0]) \
            or min(shape[2]) < 0 or max(shape[2]) >= int(0.6 * min(shape[0])) - 2:
        raise ValueError(f"shape out of range: nodes {sorted(shape[0])}, path lengths {sorted(shape[1])}, "
                         f"extra people {sorted(shape[2])}; need 8 <= nodes, 1 <= path < nodes / 2, "
                         "0 <= extra people < 0.6 * nodes - 2")
    rng = random.Random(seed)
    return [_generate_row(rng, names, concepts, shape) for _ in range(n)]


def write_prosqa(rows: Sequence[Mapping[str, object]], path: str | Path) -> None:
    """Write rows as the published file is written (one JSON array on one line), atomically."""
    write_text_atomic(path, json.dumps(list(rows)))


def read_prosqa_rows(path: str | Path) -> list[object]:
    """The items of a ProsQA file (one JSON array); DataError when it is no readable array."""
    path = require_file(path, "ProsQA")
    try:
        items = json.loads(path.read_text(encoding="utf-8-sig"))
    except json.JSONDecodeError as err:
        raise DataError(f"{path} line {err.lineno}: malformed JSON "
                        f"({err.msg} at column {err.colno})") from None
    if not isinstance(items, list):
        raise DataError(f"{path}: expected one JSON array of ProsQA rows, got {type(items).__name__}")
    return items


def load_prosqa(path: str | Path, *, skip_invalid: bool = False) -> LoadResult:
    """Load a ProsQA file (``prosqa_valid.json``); uids ``"<file stem>:<row>"``.

    ``fields["question"]``, ``label`` = the answer sentence, ``steps`` = the step
    sentences, ``explanations`` = the steps one per line. The file is one JSON array
    (on one line), so a bad row is named as ``<file> item <i>``: it raises DataError
    naming the field, or with ``skip_invalid`` is skipped and counted. Rows that load
    but fail :func:`check_prosqa_row` are kept and counted in ``counts``.
    """
    path = require_file(path, "ProsQA")
    items = read_prosqa_rows(path)

    def raw_rows():
        for i, item in enumerate(items):
            data = item if isinstance(item, dict) else RowError(
                "not a JSON object", f"expected a JSON object, got {type(item).__name__}")
            yield RawRow(i, f"{path} item {i}", f"{path}:{i}", data)

    def to_example(raw: RawRow) -> tuple[Example, str | None]:
        question, answer = text_field(raw.data, "question"), text_field(raw.data, "answer")
        steps = raw.data.get("steps")
        if steps is None:
            raise RowError("missing field: steps", "missing field 'steps'")
        if not isinstance(steps, list) or not steps \
                or not all(isinstance(s, str) and s.strip() for s in steps):
            raise RowError("bad value: steps",
                           f"field 'steps' is {short_repr(steps)}; expected a non-empty list of sentences")
        steps = tuple(s.strip() for s in steps)
        example = Example(uid=f"{path.stem}:{raw.index}", fields={"question": question}, label=answer,
                          explanations=("\n".join(steps),), steps=steps, source=raw.source,
                          meta={"row": str(raw.index)})
        return example, INCONSISTENT if check_prosqa_row(raw.data) else None

    return collect(raw_rows(), to_example, skip_invalid=skip_invalid, what="ProsQA")
