"""Explicit teachers: prompt an LLM (local or over HTTP) or convert existing outputs into a teacher file.

``rdistill.teachers.teach.teach(cfg, output_dir)`` is what ``rdistill teach`` runs.
"""
