"""``rdistill export`` of a run, and ``rdistill predict`` / ``eval`` on an export folder.

An export (``training/export.py``) carries the run's recipe, so its predictor prompts the
student exactly as the run trained it: the PyTorch predictor for an ``hf`` export, the
CTranslate2 one (same prompts, same label scoring, same greedy decoding) for a
``ctranslate2`` export. Exports serve students of the ``rationale`` method.
"""

from __future__ import annotations

from pathlib import Path

from rdistill.config import RunConfig
from rdistill.errors import ConfigError
from rdistill.methods.base import EvalRequest
from rdistill.training.export import ExportInfo, check_export_request, write_export
from rdistill.training.run_folder import RunFolder, check_export_target, load_student


def export_student(folder: RunFolder, cfg: RunConfig, out_dir: str | Path, *, fmt: str = "hf",
                   quantization: str | None = None, overwrite: bool = False) -> Path:
    """Write the export of a trained run; the target and the request are checked before loading."""
    check_export_target(out_dir, folder.root, overwrite=overwrite)
    meta = folder.read_meta()
    check_export_request(fmt, quantization, meta)
    model, tokenizer, _, _ = load_student(folder, trust_remote_code=cfg.model.trust_remote_code)
    return write_export(model, tokenizer, out_dir, fmt=fmt, quantization=quantization, source=folder.root,
                        config_text=folder.config.read_text(encoding="utf-8"), meta=meta)


def export_predictor(info: ExportInfo, cfg: RunConfig, *, show_progress: bool = False, threads: int = 0):
    """The predictor of an export folder (``threads``: CTranslate2's, 0 = torch's count)."""
    from rdistill.methods.rationale.predictor import rationale_predictor
    from rdistill.models import load_model, load_tokenizer

    if cfg.method != "rationale":
        raise ConfigError(f"{info.root} exports a {cfg.method!r} run: predict and eval run on exports of "
                          "rationale runs; give the run folder instead")
    tokenizer = load_tokenizer(str(info.root), trust_remote_code=cfg.model.trust_remote_code)
    if info.format == "hf":
        model, kind = load_model(str(info.root), kind=info.kind,
                                 trust_remote_code=cfg.model.trust_remote_code)
        if cfg.model.label_head != "none":
            from rdistill.models.label_head import load_label_head

            load_label_head(model, info.root)
        model.eval()
        return rationale_predictor(model, tokenizer, kind, cfg, show_progress=show_progress)
    from rdistill.prediction.ctranslate2 import ctranslate2_predictor
    from rdistill.prediction.labels import settings_for
    from rdistill.tasks.registry import get_task

    return ctranslate2_predictor(info.root, tokenizer, get_task(cfg.data.dataset), settings=settings_for(cfg),
                                 generation=cfg.generation, end_ids=info.end_ids, threads=threads,
                                 show_progress=show_progress)


def evaluate_export(info: ExportInfo, cfg: RunConfig, request: EvalRequest) -> dict:
    """``rdistill eval`` of an export: the rows and metrics of a rationale run's evaluation."""
    from rdistill.methods.rationale.evaluate import evaluate_rationale_run

    predictor = export_predictor(info, cfg, show_progress=request.show_progress)
    return evaluate_rationale_run(predictor, cfg, info.root, request)
