"""Fixtures for latent distillation: in-memory examples and a second tiny model whose
tokenizer differs from ``tiny_causal_dir``'s (for character-offset alignment)."""

from __future__ import annotations

from pathlib import Path

import pytest

from rdistill.data.example import Example


def make_examples(n: int = 10) -> list[Example]:
    return [Example(uid=f"ex{i}", fields={"question": f"two dogs and {i} cats are playing, how many?"},
                    label=str(i + 2),
                    explanations=(f"the dogs are two so therefore {i} + 2 = {i + 2}",))
            for i in range(n)]


@pytest.fixture
def examples() -> list[Example]:
    return make_examples()


@pytest.fixture(scope="session")
def tiny_other_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random 3-layer Llama (hidden 48) with its own, smaller WordPiece vocabulary."""
    import string

    import torch
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers
    from tokenizers.trainers import WordPieceTrainer
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    from rdistill.tasks.latent_layout import latent_text

    backend = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    backend.normalizer = normalizers.BertNormalizer(lowercase=True)
    backend.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    backend.decoder = decoders.WordPiece()
    trainer = WordPieceTrainer(vocab_size=150, special_tokens=["[PAD]", "[UNK]", "[BOS]", "[EOS]"],
                               initial_alphabet=list(string.ascii_lowercase + string.digits + string.punctuation))
    corpus = [t.prompt + t.target for t in map(latent_text, make_examples(40))]
    backend.train_from_iterator(corpus, trainer)
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=backend, pad_token="[PAD]", unk_token="[UNK]",
                                        bos_token="[BOS]", eos_token="[EOS]")
    config = LlamaConfig(hidden_size=48, intermediate_size=96, num_hidden_layers=3, num_attention_heads=4,
                         num_key_value_heads=2, vocab_size=len(tokenizer), max_position_embeddings=512,
                         pad_token_id=tokenizer.pad_token_id, bos_token_id=tokenizer.bos_token_id,
                         eos_token_id=tokenizer.eos_token_id)
    torch.manual_seed(1)
    out = tmp_path_factory.mktemp("tiny_other")
    LlamaForCausalLM(config).save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


@pytest.fixture
def latent_config():
    """Builds a raw run config dict for a latent run (see ``_latent_config``)."""
    return _latent_config


def _latent_config(teacher: Path, student: Path, cache: Path, **latent) -> dict:
    """A raw run config for a latent run of ``student`` on ``teacher`` (data passed in memory)."""
    return {
        "name": "latent-toy", "seed": 0,
        "data": {"train_file": "unused-in-memory.jsonl"},
        "model": {"name": str(student)},
        "finetune": {"mode": "lora", "r": 4, "alpha": 8, "dropout": 0.0},
        "training": {"max_steps": 3, "batch_size": 4, "lr": 1e-3, "logging_steps": 1, "save_steps": 100,
                     "warmup_ratio": 0.0, "group_by_length": False},
        "latent": {"teacher": str(teacher), "cache_dir": str(cache), "layers": "last:2", "dtype": "fp32",
                   "examples_per_shard": 4, "extract_batch_size": 3, **latent},
    }
