"""Offline setup for the evaluation tests.

Set at import time, before anything imports huggingface_hub (which reads
HF_HUB_OFFLINE once) or bert_score (which imports matplotlib, which wants a
writable config folder).
"""

import os
import tempfile

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("MPLCONFIGDIR", tempfile.mkdtemp(prefix="rdistill-mpl-"))
