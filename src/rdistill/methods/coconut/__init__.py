"""COCONUT (Hao et al. 2024, "Training Large Language Models to Reason in a Continuous Latent Space").

A decoder-only student reasons in continuous thoughts: instead of writing a reasoning
step as tokens, it feeds its last hidden state back as the next input embedding. A
curriculum replaces the first k language steps by k*c thoughts at stage k.

Modules (import them directly; this file stays light so that importing the method
registry does not pull in torch or transformers):

- ``tokens``: ``<bot>``, ``<eot>``, ``<latent>``; trainable token rows under LoRA.
- ``curriculum``: which steps a stage replaces (``stage_rows``), row layout (``encode_row``).
- ``loss``: the token-mean CE, bit-identical to transformers' CoT-SFT loss.
- ``thoughts``: ``coconut_forward``, the multi-pass forward over one KV cache.
- ``collator``: batches with ``<bot>`` aligned across rows.
- ``trainer``: ``CoconutTrainer`` (``compute_loss`` only).
- ``stages``: ``train_curriculum``, one fresh Trainer per stage, resumable.
- ``generate``: ``generate_with_thoughts``, batched inference with fed-back thoughts.
- ``config``: ``CoconutConfig``, the ``coconut:`` section of a run config.
"""
