"""Methods: what a recipe trains (``rationale``, ``latent``, ...), each in its own folder.

Each method supplies its encoding, trainer, predictor and phases (:mod:`rdistill.methods.base`);
:mod:`rdistill.methods.registry` holds the one registry and what the face asks of it.
"""
