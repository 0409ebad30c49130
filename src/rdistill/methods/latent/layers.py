"""Which teacher layers to store, and which student layer learns each of them.

Layer numbers follow ``output_hidden_states``: 0 is the embedding output, ``l`` the
output of block ``l`` (1-based), and the last one is after the final norm (that is
what transformers returns there).
"""

from __future__ import annotations

from rdistill.errors import ConfigError


def parse_layers(spec: list[int] | str, num_layers: int) -> list[int]:
    """Layer numbers for ``spec``: an explicit list, ``"a-b"`` (inclusive) or ``"last:k"``.

    ``num_layers`` is the model's block count; valid numbers are 0..num_layers.
    """
    if isinstance(spec, list):
        layers = sorted(set(spec))
    elif spec.startswith("last:"):
        k = int(spec.split(":", 1)[1])
        if not 1 <= k <= num_layers:
            raise ConfigError(f"latent.layers '{spec}': k must be in 1..{num_layers}")
        layers = list(range(num_layers - k + 1, num_layers + 1))
    else:
        first, last = (int(x) for x in spec.split("-"))
        if first > last:
            raise ConfigError(f"latent.layers '{spec}': the range is empty (start > end)")
        layers = list(range(first, last + 1))
    bad = [layer for layer in layers if not 0 <= layer <= num_layers]
    if bad:
        raise ConfigError(f"latent.layers {spec!r}: {bad} outside 0..{num_layers} "
                          f"(the teacher has {num_layers} blocks)")
    return layers


def relative_depth_map(teacher_layers: list[int], teacher_depth: int, student_depth: int) -> list[tuple[int, int]]:
    """Pair each teacher layer with the student layer at the same relative depth.

    ``round(l * student_depth / teacher_depth)``, at least 1 for a teacher block (a block
    output is never matched to the student's embeddings). Example: teacher 30 blocks,
    student 15: 30 -> 15, 28 -> 14, 27 -> 14 (round half to even: 13.5 -> 14).
    """
    pairs = []
    for layer in teacher_layers:
        student = round(layer * student_depth / teacher_depth)
        pairs.append((layer, max(student, 1) if layer > 0 else 0))
    return pairs


def layer_pairs(layer_map: list[tuple[int, int]] | str, stored_layers: list[int],
                teacher_depth: int, student_depth: int) -> list[tuple[int, int]]:
    """Validated (teacher layer, student layer) pairs for training.

    Every teacher layer must be among the stored (extracted) ones and every student
    layer within 0..student_depth; errors say which pair and what is available.
    """
    pairs = (relative_depth_map(stored_layers, teacher_depth, student_depth)
             if layer_map == "relative_depth" else [tuple(p) for p in layer_map])
    problems = []
    for t, s in pairs:
        if t not in stored_layers:
            problems.append(f"teacher layer {t} is not in the cache (stored: {stored_layers})")
        if not 0 <= s <= student_depth:
            problems.append(f"student layer {s} is outside 0..{student_depth}")
    if problems:
        raise ConfigError("latent.layer_map: " + "; ".join(problems))
    if not pairs:
        raise ConfigError("latent.layer_map is empty: give (teacher, student) pairs or relative_depth")
    return pairs
