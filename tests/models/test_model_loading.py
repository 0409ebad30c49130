"""resolve_model / load_model / load_tokenizer on tiny offline models."""

from pathlib import Path

import pytest
import torch
from transformers import AutoTokenizer, LlamaForCausalLM, T5ForConditionalGeneration

from rdistill.errors import ModelError
from rdistill.models import loading
from rdistill.models.loading import load_model, load_tokenizer, resolve_model
from rdistill.models.packaged import minilm_dir


def test_alias_minilm_resolves_to_packaged_folder() -> None:
    path = Path(resolve_model("minilm-l6"))
    assert path == minilm_dir()
    assert (path / "config.json").is_file()


def test_alias_smollm2_maps_to_cache_folder(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Pretend the conversion exists: the mapping is under test here, not the conversion.
    monkeypatch.setenv("RDISTILL_CACHE", str(tmp_path))
    monkeypatch.setattr(loading, "smollm2_gguf_path", lambda: tmp_path / "x.gguf")
    monkeypatch.setattr(loading, "is_converted", lambda out, gguf: True)
    assert resolve_model("smollm2-135m-instruct") == str(
        tmp_path / "models" / "smollm2-135m-instruct"
    )


def test_gguf_file_maps_to_converted_folder(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    gguf = tmp_path / "Some-Model.Q4_0.gguf"
    gguf.write_bytes(b"GGUF")
    monkeypatch.setenv("RDISTILL_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(loading, "is_converted", lambda out, gguf: True)
    expected = tmp_path / "cache" / "models" / "gguf" / "Some-Model.Q4_0"
    assert resolve_model(str(gguf)) == str(expected)


def test_local_folder_and_hub_id(tiny_causal_dir: Path) -> None:
    assert resolve_model(tiny_causal_dir) == str(tiny_causal_dir)
    hub_id = "HuggingFaceTB/SmolLM2-135M-Instruct"
    assert resolve_model(hub_id) == hub_id
    assert resolve_model("gpt2") == "gpt2"


def test_missing_path_raises_model_error(tmp_path: Path) -> None:
    missing = tmp_path / "no" / "such-model"
    with pytest.raises(ModelError) as info:
        resolve_model(str(missing))
    message = str(info.value)
    assert str(missing) in message and "does not exist" in message
    assert "smollm2-135m-instruct" in message and "\n" not in message
    with pytest.raises(ModelError, match="does not exist"):
        load_model(str(missing))


def test_file_that_is_not_gguf_raises(tmp_path: Path) -> None:
    (tmp_path / "weights.bin").write_bytes(b"x")
    with pytest.raises(ModelError, match="is a file, not a model folder"):
        resolve_model(str(tmp_path / "weights.bin"))


def test_offline_hub_id_raises_model_error() -> None:
    with pytest.raises(ModelError) as info:
        load_model("foo/bar")
    message = str(info.value)
    assert "'foo/bar' is not a local folder" in message and "HF_HUB_OFFLINE" in message
    assert "minilm-l6" in message and "\n" not in message


def test_incomplete_folder_raises(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="could not load the model from folder"):
        load_model(tmp_path)


def test_load_tiny_models_detects_kind(tiny_causal_dir: Path, tiny_seq2seq_dir: Path) -> None:
    causal, kind = load_model(tiny_causal_dir)
    assert kind == "causal" and isinstance(causal, LlamaForCausalLM)
    assert next(causal.parameters()).dtype == torch.float32
    seq2seq, kind = load_model(str(tiny_seq2seq_dir), kind="seq2seq")
    assert kind == "seq2seq" and isinstance(seq2seq, T5ForConditionalGeneration)


def test_kind_mismatch_and_bad_arguments(tiny_causal_dir: Path, tiny_seq2seq_dir: Path) -> None:
    with pytest.raises(ModelError, match="set kind to 'seq2seq'"):
        load_model(tiny_seq2seq_dir, kind="causal")
    with pytest.raises(ModelError, match="set kind to 'causal'"):
        load_model(tiny_causal_dir, kind="seq2seq")
    with pytest.raises(ModelError, match="not one of"):
        load_model(tiny_causal_dir, kind="encoder")  # type: ignore[arg-type]
    with pytest.raises(ModelError, match="not a torch dtype"):
        load_model(tiny_causal_dir, dtype="float33")


def test_dtype_by_name(tiny_causal_dir: Path) -> None:
    model, _ = load_model(tiny_causal_dir, dtype="bfloat16")
    assert next(model.parameters()).dtype == torch.bfloat16


def test_encoder_only_model_is_refused() -> None:
    with pytest.raises(ModelError, match="encoder-only 'bert'"):
        load_model("minilm-l6")


def test_load_tokenizer_keeps_pad_and_padding_side(tiny_seq2seq_dir: Path) -> None:
    tokenizer = load_tokenizer(tiny_seq2seq_dir)
    assert tokenizer.pad_token == "[PAD]" and tokenizer.pad_token_id == 0
    assert tokenizer.padding_side == "right"  # not forced: callers choose
    assert tokenizer("premise entailment").input_ids[-1] == tokenizer.eos_token_id


def test_load_tokenizer_pads_with_eos_when_missing(tiny_causal_dir: Path, tmp_path: Path) -> None:
    tokenizer = AutoTokenizer.from_pretrained(tiny_causal_dir)
    tokenizer.pad_token = None
    tokenizer.save_pretrained(tmp_path)
    assert AutoTokenizer.from_pretrained(tmp_path).pad_token is None
    loaded = load_tokenizer(tmp_path)
    assert loaded.pad_token == "[EOS]" and loaded.pad_token_id == loaded.eos_token_id
