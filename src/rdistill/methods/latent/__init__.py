"""Latent distillation: teacher hidden states / top-k logits cached once, streamed to a LoRA student.

Modules: ``config`` (the ``latent:`` section), ``method`` (the method: phases, evaluation, predictor),
``teacher_signal`` (run the teacher), ``extract`` / ``cache`` / ``manifest`` (the on-disk cache),
``layers`` / ``projection`` / ``token_alignment`` / ``compat`` (alignment), ``batch`` / ``dataset``
(rows and collation), ``trainer`` (LatentTrainer), ``run`` (extract and train pipelines).
"""
