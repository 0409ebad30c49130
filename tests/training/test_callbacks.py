from rdistill.training.callbacks import MetricsLogCallback


def test_log_line_shows_only_the_terms_present():
    line = MetricsLogCallback.format_line({"step": 5, "loss": 1.5, "loss_label": 1.5, "learning_rate": 1e-4,
                                           "elapsed_s": 12.0})
    assert line == "step 5 | loss 1.500 (label 1.500) | lr 1.00e-04 | 12s"
    line = MetricsLogCallback.format_line({"step": 9, "eval_loss": 2.0, "eval_loss_label": 0.5,
                                           "eval_loss_expl": 3.0, "eval_label_accuracy": 0.75})
    assert line == "step 9 | eval loss 2.000 (label 0.500, expl 3.000) | dev acc 0.750"
