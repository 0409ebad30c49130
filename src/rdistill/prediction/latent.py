"""Answers of a latent student: it reads the plain prompt it was trained on and writes
``<reasoning>\nAnswer: <answer>`` greedily until EOS; the answer is read after the last ``Answer:``.

The prompt is :func:`rdistill.tasks.latent_layout.latent_prompt` (one ``Name: value`` line per
input field), the layout latent training encodes: a latent run must be asked exactly that way,
not with the rationale layout's prompt.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from tqdm.auto import tqdm

from rdistill.config import GenerationConfig
from rdistill.data.answers import final_answer, normalize_answer
from rdistill.data.example import Example
from rdistill.prediction.decoding import greedy_decode
from rdistill.tasks.latent_layout import latent_prompt
from rdistill.tasks.registry import get_task

ANSWER_MARK = "Answer:"


def split_output(output: str) -> tuple[str, str | None]:
    """``(reasoning, answer text or None)`` of one student output."""
    head, sep, tail = output.rpartition(ANSWER_MARK)
    if not sep:
        return output.strip(), None
    return head.strip(), tail.strip() or None


def parse_answer(answer: str | None, task: str) -> str | None:
    """The canonical answer: a normalised number/letter/expression, the whole text (open-text
    tasks: ``prosqa``, ``multiplication``), or one of the task's labels."""
    if answer is None:
        return None
    spec = get_task(task)
    if spec.answer_kind == "text":  # the whole answer is the answer (ProsQA's sentence, a product's digits)
        return normalize_answer(answer, "text")
    if spec.answer_kind is not None:
        return final_answer(answer, spec.answer_kind)[0]
    first = answer.split()[0].strip(".,;:!").casefold() if answer.split() else ""
    return next((label for label in spec.labels or () if label.casefold() == first), None)


@torch.no_grad()
def predict_answers(model, tokenizer, examples: Sequence[Example], task: str, *, max_prompt_tokens: int,
                    max_new_tokens: int, batch_size: int, show_progress: bool = False) -> list[dict]:
    """One record per example: ``uid``, ``output``, ``pred_explanation``, ``answer_text``,
    ``pred_label`` (canonical or None), ``generated_tokens`` (EOS included), ``gold_label``,
    ``references``."""
    prompts = [tokenizer(latent_prompt(ex), add_special_tokens=False)["input_ids"][-max_prompt_tokens:]
               for ex in examples]
    order = sorted(range(len(examples)), key=lambda i: len(prompts[i]))  # similar lengths pad less
    outputs: dict[int, str] = {}
    n_tokens: dict[int, int] = {}
    bar = tqdm(total=len(examples), desc="latent eval", unit="row", disable=not show_progress)
    for start in range(0, len(order), batch_size):
        chunk = order[start:start + batch_size]
        generated = greedy_decode(model, [prompts[i] for i in chunk], max_new_tokens=max_new_tokens,
                                  stop_ids={tokenizer.eos_token_id},
                                  pad_id=tokenizer.eos_token_id if tokenizer.pad_token_id is None
                                  else tokenizer.pad_token_id)
        for i, (tokens, _) in zip(chunk, generated):
            outputs[i] = tokenizer.decode(tokens, skip_special_tokens=True)
            n_tokens[i] = len(tokens)
        bar.update(len(chunk))
    bar.close()
    records = []
    for i, ex in enumerate(examples):
        reasoning, answer = split_output(outputs[i])
        records.append({"uid": ex.uid, "output": outputs[i], "pred_explanation": reasoning or None,
                        "answer_text": answer, "pred_label": parse_answer(answer, task),
                        "generated_tokens": n_tokens[i],
                        "gold_label": ex.label, "references": list(ex.explanations)})
    return records


class LatentPredictor:
    """``predict(examples)`` -> answer records of a latent student (see :func:`predict_answers`)."""

    def __init__(self, model, tokenizer, task: str, *, max_prompt_tokens: int, generation: GenerationConfig,
                 show_progress: bool = False):
        self.model, self.tok, self.task = model, tokenizer, task
        self.max_prompt_tokens, self.gen, self.show_progress = max_prompt_tokens, generation, show_progress

    def predict(self, examples: Sequence[Example]) -> list[dict]:
        return predict_answers(self.model, self.tok, examples, self.task, max_prompt_tokens=self.max_prompt_tokens,
                               max_new_tokens=self.gen.max_new_tokens, batch_size=self.gen.batch_size,
                               show_progress=self.show_progress)

    @torch.no_grad()
    def prompt_forward(self, examples: Sequence[Example]) -> torch.Tensor:
        """One forward pass over the prompts (what ``profile`` counts as the forward FLOPs)."""
        ids = [self.tok(latent_prompt(ex), add_special_tokens=False)["input_ids"][-self.max_prompt_tokens:]
               for ex in examples]
        width = max(len(i) for i in ids)
        pad = self.tok.pad_token_id if self.tok.pad_token_id is not None else self.tok.eos_token_id
        input_ids = torch.tensor([[pad] * (width - len(i)) + i for i in ids], device=self.model.device)
        mask = torch.tensor([[0] * (width - len(i)) + [1] * len(i) for i in ids], device=self.model.device)
        return self.model(input_ids=input_ids, attention_mask=mask).logits[:, -1]
