"""Prediction with a trained student: label scoring + explanation generation (``labels``),
written answers of math tasks (``answers``), latent students' answers (``latent``), and the
batched greedy decoding they share (``decoding``). Which predictor a run gets is its
method's choice (:func:`rdistill.methods.registry.run_predictor`)."""
