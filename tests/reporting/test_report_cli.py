"""``rdistill plot`` and ``rdistill report`` through main(argv)."""

from rdistill.cli import main


def test_plot_writes_png_and_pdf_into_run_figures(run_dir, capsys):
    assert main(["--quiet", "plot", str(run_dir)]) == 0
    written = sorted(p.name for p in (run_dir / "figures").iterdir())
    assert "training_curves.png" in written and "training_curves.pdf" in written
    assert len(written) == 14
    assert "14 files in" in capsys.readouterr().out


def test_plot_sweep_to_chosen_dir_and_format(sweep_dir, tmp_path, capsys):
    out = tmp_path / "figs"
    argv = ["--quiet", "plot", str(sweep_dir), "--output-dir", str(out), "--format", "png"]
    assert main(argv) == 0
    assert {p.name for p in out.iterdir()} == {
        f"{name}.png" for name in
        ("alpha_sensitivity", "lora_rank", "degradation", "efficiency", "pareto", "radar")}


def test_plot_names_skipped_figures(tmp_path, fakes, capsys):
    run = fakes.write_run(tmp_path / "r")  # no layer_similarity.json
    assert main(["--quiet", "plot", str(run), "--format", "png"]) == 0
    assert "skipped (no data): layer_similarity" in capsys.readouterr().out


def test_report_writes_html_and_markdown(run_dir, tmp_path, capsys):
    out = tmp_path / "out" / "report.html"
    assert main(["--quiet", "report", str(run_dir), "--output", str(out)]) == 0
    assert out.read_text().startswith("<!DOCTYPE html>")
    assert out.with_suffix(".md").read_text().startswith("# rdistill report: toy")
    printed = capsys.readouterr().out
    assert str(out.resolve()) in printed and "report.md" in printed


def test_user_errors_exit_2_with_one_line(tmp_path, run_dir, capsys):
    assert main(["report", str(tmp_path / "nope"), "--output", str(tmp_path / "r.html")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["report", str(run_dir), "--output", str(tmp_path / "r.md")]) == 2
    assert ".html" in capsys.readouterr().err
    assert main(["plot", str(run_dir), "--format", "gif"]) == 2
    err = capsys.readouterr().err
    assert "--format" in err and "Traceback" not in err
