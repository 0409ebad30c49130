"""Lexical consistency: a cheap keyword baseline for label-explanation agreement in NLI.

This is *not* the consistency judge. A few hand-written cue rules map an
explanation to the NLI label its wording suggests ("not necessarily" ->
neutral, "cannot" -> contradiction, "is a" -> entailment) and we count how
often that agrees with the predicted label. It is fast, deterministic and needs
no model, so it gives a floor to compare a model-based judge against; it is
blind to meaning (a paraphrase without cue words is "unknown", a hedge-free
neutral explanation with a negation reads as contradiction).

Rules are tried in priority order, the first match wins:
1. neutral: hedges and non-implication ("not necessarily", "may not",
   "doesn't mean", "could be", "just because", "not all", "no indication", ...);
   checked first because most of them contain a negation;
2. contradiction: impossibility and negation ("cannot", "can't be both",
   "at the same time", "instead of", "not", "no", "never", "-n't", ...);
3. entailment: restatement ("is a", "same as", "implies", "means", "type of",
   "in other words", "therefore", ...).
No match: no cue (label None, reported as unknown).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

NLI_LABELS = ("entailment", "neutral", "contradiction")

# (label, regex) in priority order; matched on lower-cased text with curly
# apostrophes straightened, between non-letter boundaries.
_RULES: tuple[tuple[str, str], ...] = (
    ("neutral", r"not necessarily"),
    ("neutral", (r"(?:does not|doesn't|do not|don't|did not|didn't) (?:necessarily )?"
                 r"(?:mean|imply|say|state|indicate|mention|tell|show)")),
    ("neutral", r"(?:may|might|could) not"),
    ("neutral", r"(?:could|may|might) be"),
    ("neutral", r"maybe|possibly|perhaps|probably|might"),
    ("neutral", r"just because"),
    ("neutral", (r"not (?:all|every|everyone|always|mentioned|stated|specified|given|known|"
                 r"clear|sure|implied)")),
    ("neutral", r"no (?:indication|evidence|mention|information|way to (?:know|tell))"),
    ("neutral", r"(?:can't|cannot|can not) (?:assume|tell|know|be sure|infer|conclude)"),
    ("neutral", r"unknown|unclear|unspecified|uncertain"),
    ("contradiction", r"(?:can't|cannot|can not) be both"),
    ("contradiction", r"can't|cannot|can not|couldn't|impossible|contradict\w*"),
    ("contradiction", r"at the same time|simultaneously|not both|opposite|instead of|rather than"),
    ("contradiction", r"not|no|never|nobody|nothing|none|neither|nor|\w+n't"),
    ("entailment", r"same as|the same|synonyms?|another word for|in other words|equivalent"),
    ("entailment", r"impl(?:y|ies|ied)|means?|meaning|refers? to|(?:type|kind|form) of"),
    ("entailment", r"therefore|thus|hence|so|must be"),
    ("entailment", r"is an?|is also|are also"),
)
_COMPILED = tuple(
    (label, re.compile(rf"(?<![a-z'])(?:{pattern})(?![a-z'])")) for label, pattern in _RULES
)


def _normalise(text: str) -> str:
    return text.lower().replace("\u2019", "'").replace("\u2018", "'")


def lexical_cue(explanation: str | None) -> tuple[str | None, str | None]:
    """(label suggested by the first matching cue rule, the matched text); (None, None) if none."""
    if not explanation or not explanation.strip():
        return None, None
    text = _normalise(explanation)
    for label, pattern in _COMPILED:
        match = pattern.search(text)
        if match:
            return label, match.group(0)
    return None, None


def lexical_consistency(
    explanations: Sequence[str | None], predicted_labels: Sequence[str | None]
) -> dict:
    """Share of explanations whose lexical cue label equals the predicted label.

    Args:
        explanations: generated explanation per example (None or blank: no cue).
        predicted_labels: predicted label per example (NLI words); None never matches.

    Returns:
        ``{"lexical_consistency": consistent / with a cue (None when no explanation
        has a cue), "coverage": with a cue / n (None when n = 0), "n", "n_with_cue",
        "n_consistent", "per_example": {"cue_label": [...], "cue": [...]}, "protocol"}``
    """
    if len(explanations) != len(predicted_labels):
        raise ValueError(
            f"{len(explanations)} explanations but {len(predicted_labels)} predicted labels"
        )
    cue_labels: list[str | None] = []
    cues: list[str | None] = []
    n_consistent = 0
    for explanation, predicted in zip(explanations, predicted_labels):
        label, cue = lexical_cue(explanation)
        cue_labels.append(label)
        cues.append(cue)
        n_consistent += label is not None and label == predicted

    n = len(explanations)
    n_with_cue = sum(label is not None for label in cue_labels)
    return {
        "lexical_consistency": n_consistent / n_with_cue if n_with_cue else None,
        "coverage": n_with_cue / n if n else None,
        "n": n,
        "n_with_cue": n_with_cue,
        "n_consistent": n_consistent,
        "per_example": {"cue_label": cue_labels, "cue": cues},
        "protocol": {
            "method": "lexical cue rules (baseline, not a judge): neutral hedges, then "
            "contradiction negations, then entailment restatements; first match wins",
            "labels": list(NLI_LABELS),
            "denominator": "explanations with a cue",
            "n_rules": len(_RULES),
        },
    }
