"""Prompts and span-tagged targets of open-answer (math) tasks: GSM8K, SVAMP, AQuA-RAT, MATH.

e-SNLI's label is one word of a closed set, scored at one position. A math answer
is open, so the student *writes* it, after its reasoning, and the answer is then
extracted from the text (:mod:`rdistill.data.answers`). Layouts, in the
span notation of :mod:`rdistill.tasks.layout` (``<eos>`` = end token)::

    chain of thought (beta > 0):  Answer:| <reasoning>|\\n####| 72<eos>
    answer only (beta = 0):       Answer:| 72<eos>

Spans: ``Answer:`` carries no loss (the predictor supplies it); the reasoning and
the ``\\n####`` that ends it are the explanation span (the student must learn to
close its reasoning); the answer and EOS are the label span. Reasoning keeps its
line breaks (GSM8K writes one step per line); the predictor generates up to EOS,
not to the first newline. Over-long targets lose the end of the reasoning, never
``\\n####``, the answer or EOS. ``loss.output_order`` and ``loss.task_prefix`` do not
apply: reasoning always comes first, and the config refuses ``task_prefix``.
"""

from __future__ import annotations

from rdistill.data.example import Example
from rdistill.data.answers import AnswerKind
from rdistill.tasks.layout import ANSWER_MARKER, SPAN_EXPLANATION, SPAN_LABEL, SPAN_NONE, TargetPieces

REASONING_END = "\n####"

_INSTRUCTIONS: dict[str, str] = {
    "number": "Solve the problem; give the final answer as a number.",
    "choice": "Solve the problem; give the letter of the correct option.",
    "expression": "Solve the problem; give the final answer.",
    "text": "Reason step by step; give the final answer.",
}


def math_prompt(kind: AnswerKind, example: Example) -> str:
    """``Question: ...`` (+ ``Options:`` lines for AQuA) and the task's instruction line."""
    f = example.fields
    text = f"Question: {f['question']}\n"
    if f.get("options"):
        text += f"Options:\n{f['options']}\n"
    return text + _INSTRUCTIONS[kind] + "\n"


def math_target_pieces(prompt: str, answer: str, reasoning: str | None) -> TargetPieces:
    """Pieces of one target: answer only (``reasoning`` None) or reasoning, ``\\n####``, answer."""
    if reasoning is None:
        return TargetPieces(prompt, ((ANSWER_MARKER, SPAN_NONE), (f" {answer}", SPAN_LABEL)), SPAN_LABEL)
    # Trailing spaces on lines are noise; inner line breaks are the reasoning's steps.
    reasoning = "\n".join(line.strip() for line in reasoning.strip().splitlines() if line.strip())
    pieces = ((ANSWER_MARKER, SPAN_NONE), (f" {reasoning}", SPAN_EXPLANATION),
              (REASONING_END, SPAN_EXPLANATION), (f" {answer}", SPAN_LABEL))
    return TargetPieces(prompt, pieces, SPAN_LABEL)


def math_training_rows(prompt: str, example: Example, explanations: list[str], *,
                       with_explanation: bool) -> list[TargetPieces]:
    """One row per reasoning target (chain-of-thought SFT), or one answer-only row."""
    if not with_explanation:
        return [math_target_pieces(prompt, example.label, None)]
    return [math_target_pieces(prompt, example.label, reasoning) for reasoning in explanations]
