"""``rdistill export --format ctranslate2``: the exported student gives the PyTorch student's labels
(float32: the same labels; int8: agreement recorded), ``predict`` / ``eval`` run on an export, and
exports that cannot work are refused up front (exit 2, one line)."""

from __future__ import annotations

import json

import pytest

from rdistill.cli import main
from rdistill.errors import ConfigError, ModelError
from rdistill.training.export import check_ctranslate2_model, check_export_request, read_export
from rdistill.training.run_folder import EXPORT_MARK

CAUSAL = {"kind": "causal", "method": "rationale"}


def _records(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_ctranslate2_export_round_trip(train_toy_run, esnli_file, tmp_path, capsys, record_property):
    pytest.importorskip("ctranslate2")
    run = train_toy_run(max_steps=6)
    exports = {"float32": tmp_path / "ct2-float32", "int8": tmp_path / "ct2-int8"}
    export = ["--quiet", "export", str(run), "--format", "ctranslate2", "--output"]
    assert main([*export, str(exports["float32"]), "--quantization", "float32"]) == 0
    assert main([*export, str(exports["int8"])]) == 0  # int8: the default
    for quantization, folder in exports.items():
        mark = json.loads((folder / EXPORT_MARK).read_text())
        assert (mark["format"], mark["quantization"]) == ("ctranslate2", quantization)
        assert (folder / "model.bin").is_file() and (folder / "rdistill_config.yaml").is_file()
        assert not any(p.name.startswith(".") for p in tmp_path.iterdir())  # no scratch folder left

    # The same 60 rows through `rdistill eval`: the run (PyTorch), then each export.
    for name, target in (("torch", run), *exports.items()):
        assert main(["--quiet", "eval", str(target), "--data-file", str(esnli_file),
                     "--output", str(tmp_path / f"{name}.json")]) == 0
    torch_rows, f32_rows, int8_rows = (_records(tmp_path / f"{n}.predictions.jsonl")
                                       for n in ("torch", "float32", "int8"))
    assert len(torch_rows) == 60 and [r["uid"] for r in f32_rows] == [r["uid"] for r in torch_rows]
    assert [r["pred_label"] for r in f32_rows] == [r["pred_label"] for r in torch_rows]
    for a, b in zip(f32_rows, torch_rows):
        assert a["label_probs"] == pytest.approx(b["label_probs"], abs=1e-3)
    same_text = sum(a["pred_explanation"] == b["pred_explanation"] for a, b in zip(f32_rows, torch_rows))
    assert same_text >= 57  # greedy text: float ties may flip a rare token, not more
    assert json.loads((tmp_path / "float32.json").read_text())["label_accuracy"] == \
        json.loads((tmp_path / "torch.json").read_text())["label_accuracy"]
    agreement = sum(a["pred_label"] == b["pred_label"] for a, b in zip(int8_rows, torch_rows)) / 60
    record_property("int8_label_agreement", agreement)  # measured here: 1.0 (60 of 60)
    # int8 rounds every weight: a near-tie may flip, and int8 kernels differ between CPUs (VNNI or not).
    assert agreement >= 0.9

    # `rdistill predict` on the export prints what it prints on the run.
    capsys.readouterr()
    question = ["--premise", "the dog number 7 runs", "--hypothesis", "a cat sleeps", "--json"]
    assert main(["--quiet", "predict", str(run), *question]) == 0
    from_run = json.loads(capsys.readouterr().out)
    assert main(["--quiet", "predict", str(exports["float32"]), *question]) == 0
    from_export = json.loads(capsys.readouterr().out)
    assert from_export["pred_label"] == from_run["pred_label"]
    assert from_export["label_probs"] == pytest.approx(from_run["label_probs"], abs=1e-3)

    # An export is replaced only with --overwrite; a wrong request is refused in one line, exit 2.
    again = [*export, str(exports["int8"])]
    assert main(again) == 2 and main([*again, "--overwrite", "--quantization", "int8_float32"]) == 0
    assert json.loads((exports["int8"] / EXPORT_MARK).read_text())["quantization"] == "int8_float32"
    capsys.readouterr()
    assert main(["--quiet", "export", str(run), "--output", str(tmp_path / "hf"),
                 "--quantization", "int8"]) == 2
    err = capsys.readouterr().err
    assert "--quantization goes with --format ctranslate2" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "hf").exists()


def test_export_request_refuses_what_ctranslate2_cannot_serve():
    check_export_request("ctranslate2", "int8", CAUSAL)  # the target: a decoder-only rationale student
    check_export_request("hf", None, {"kind": "seq2seq", "method": "latent"})  # hf takes every student
    for fmt, quantization, meta, says in (
            ("ctranslate2", None, {"kind": "seq2seq", "method": "rationale"}, "decoder-only"),
            ("ctranslate2", None, {"kind": "causal", "method": "coconut"}, "rationale method"),
            ("ctranslate2", "int4", CAUSAL, "--quantization 'int4'"),
            ("hf", "int8", CAUSAL, "goes with --format ctranslate2"),
            ("onnx", None, CAUSAL, "--format 'onnx'")):
        with pytest.raises(ConfigError, match=says):
            check_export_request(fmt, quantization, meta)


def test_only_llama_family_students_convert(tiny_causal_dir):
    from transformers import GPT2Config, GPT2LMHeadModel

    from rdistill.models import load_model

    check_ctranslate2_model(load_model(tiny_causal_dir)[0])
    gpt2 = GPT2LMHeadModel(GPT2Config(n_layer=1, n_embd=8, n_head=2, vocab_size=50))
    with pytest.raises(ConfigError, match="'gpt2': use --format hf"):
        check_ctranslate2_model(gpt2)


def test_read_export_tells_an_export_from_an_old_one(tmp_path):
    assert read_export(tmp_path) is None  # no marker: not an export (a run folder, say)
    (tmp_path / EXPORT_MARK).write_text(json.dumps({"source_run": "/runs/x"}))  # before formats
    with pytest.raises(ModelError, match="export the run again"):
        read_export(tmp_path)
    (tmp_path / EXPORT_MARK).write_text(json.dumps({"format": "ctranslate2", "quantization": "int8",
                                                    "kind": "causal", "end_ids": [3]}))
    (tmp_path / "rdistill_config.yaml").write_text("name: x\n")
    info = read_export(tmp_path)
    assert (info.format, info.quantization, info.end_ids) == ("ctranslate2", "int8", (3,))
