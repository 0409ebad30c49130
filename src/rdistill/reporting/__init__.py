"""Figures and reports from result files: load (results), draw (plots_*), write (html, markdown).

Everything here reads files that training, evaluation, profiling and sweeps wrote;
nothing recomputes a metric.
"""
