"""Rationale distillation: label + explanation (or reasoning + answer) with span-weighted losses."""
