"""What every method's training shares: the ``DistillTrainer`` base (``trainer``), the Trainer's
arguments from a recipe (``arguments``), the run folder (``run_folder``), tracking, callbacks
and the system record written into each run."""
