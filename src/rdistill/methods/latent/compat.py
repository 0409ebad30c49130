"""Start-up check: can this teacher/student pair be trained with this loss?"""

from __future__ import annotations

from rdistill.errors import ConfigError
from rdistill.methods.latent.manifest import vocab_hash


def same_vocabulary(teacher_tokenizer, student_tokenizer) -> bool:
    return vocab_hash(teacher_tokenizer) == vocab_hash(student_tokenizer)


def check_pair(mode: str, *, shared_vocab: bool) -> None:
    """Refuse combinations a loss cannot handle, naming the ones that would work.

    Logit KD compares next-token distributions id by id, so it needs one vocabulary.
    Hidden-state losses work across tokenizers (character offsets or mean pooling).
    """
    if mode == "logit_kd" and not shared_vocab:
        raise ConfigError(
            "latent.mode=logit_kd needs teacher and student to share a vocabulary, but their "
            "tokenizers differ; use latent.mode=latent (hidden states, aligned by "
            "latent.token_alignment=offsets or mean) or latent.mode=sft, or pick a student "
            "with the teacher's tokenizer (e.g. latent.student_from_teacher=every_other)")
