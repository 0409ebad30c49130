"""Prediction for open-answer (math) tasks: greedy generation, then answer extraction.

There is no label set to score: after ``Answer:`` the student writes its reasoning
and ``#### <answer>`` (chain-of-thought students) or just the answer (answer-only
students, ``loss.beta: 0``), up to its end token, and the answer is extracted and
normalised by :mod:`rdistill.data.answers`. So there are no label
probabilities, and calibration/confusion metrics do not apply.
"""

from __future__ import annotations

from collections.abc import Sequence

from rdistill.data.example import Example
from rdistill.data.answers import answers_match, final_answer, normalize_answer
from rdistill.tasks.layout import ANSWER_MARKER, end_token_id
from rdistill.prediction.labels import Predictor, _ids


def split_reasoning(text: str) -> str:
    """The reasoning part of a chain-of-thought output: the text before its last ``####``."""
    head, sep, _ = text.rpartition("####")
    return head.strip() if sep else text.strip()


class AnswerPredictor(Predictor):
    """Writes reasoning + answer (or the answer alone) and extracts the answer.

    Generation stops at the end token only (reasoning spans lines); it runs in waves
    of ``wave_tokens`` new tokens so that finished rows leave the batch.
    """

    wave_tokens = 64

    @property
    def stop_ids(self) -> frozenset[int]:
        if self._stop_ids is None:
            self._stop_ids = frozenset(e for e in (end_token_id(self.tok), *self.model_end_ids()) if e is not None)
        return self._stop_ids

    def _answer_context(self, example: Example) -> tuple[list[int], list[int]]:
        prompt, target = self._prompt_ids(example), _ids(self.tok, ANSWER_MARKER)
        if self.is_seq2seq:
            return prompt, [self._decoder_start()] + target
        return [], prompt + target

    def generate(self, examples: Sequence[Example]) -> list[str]:
        """The raw text each student writes after ``Answer:``."""
        with self.inference():
            return self.generate_texts([self._answer_context(ex) for ex in examples])

    def predict(self, examples: Sequence[Example]) -> list[dict]:
        """Per-example records: ``uid``, ``question``, ``gold_label``, ``pred_label`` (canonical
        answer, None when none was found), ``correct``, ``answer_text`` / ``extraction_rule``
        (what was read and by which rule), ``pred_explanation`` (the reasoning; None for
        answer-only students), ``generated`` (the whole output), ``references``,
        ``teacher_label`` / ``teacher_rationale`` (first teacher rationale, else None)."""
        kind = self.fmt.answer_kind
        records = []
        for ex, text in zip(examples, self.generate(examples)):
            if self.s.explain:
                pred, extraction = final_answer(text, kind)
                answer_text, rule = extraction.text, extraction.rule
            else:
                # An answer-only student writes nothing but the answer: read it whole first.
                pred, answer_text, rule = normalize_answer(text.strip(), kind), text.strip(), "whole output"
                if pred is None:
                    pred, extraction = final_answer(text, kind)
                    answer_text, rule = extraction.text, extraction.rule
            records.append({
                "uid": ex.uid,
                "question": ex.fields.get("question"),
                "gold_label": ex.label,
                "pred_label": pred,
                "correct": answers_match(pred, ex.label, kind),
                "answer_text": answer_text,
                "extraction_rule": rule,
                "pred_explanation": split_reasoning(text) if self.s.explain else None,
                "generated": text,
                "references": list(ex.explanations),
                "teacher_label": ex.rationales[0].label if ex.rationales else None,
                "teacher_rationale": ex.rationales[0].text if ex.rationales else None,
            })
        return records
