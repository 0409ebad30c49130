"""rdistill: distill a large teacher's reasoning into a small, fast student."""

__version__ = "0.1.0"
