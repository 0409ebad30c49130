"""Read an extraction cache lazily: one memory-mapped shard open at a time, rows on demand.

``safe_open`` maps the file; ``get_slice`` copies out only the rows of one example,
so memory holds one batch of teacher states, never the cache.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open

from rdistill.errors import DataError
from rdistill.io import file_sha256


class LatentCache:
    """A complete cache folder written by :func:`rdistill.methods.latent.extract.extract`.

    Args:
        folder: the cache folder.
        verify: ``"lazy"`` checks a shard's sha256 the first time it is read, ``"open"``
            checks all shards now, ``"none"`` never (trusted local caches).
    """

    def __init__(self, folder: str | Path, verify: str = "lazy"):
        self.folder = Path(folder)
        path = self.folder / "manifest.json"
        if not path.is_file():
            raise DataError(f"no latent cache at {self.folder} (manifest.json missing); run `rdistill extract`")
        self.manifest: dict[str, Any] = json.loads(path.read_text())
        if not self.manifest.get("complete"):
            raise DataError(f"latent cache {self.folder} is incomplete (extraction stopped); "
                            "run `rdistill extract` again to finish it")
        self.index: dict[str, list[int]] = json.loads((self.folder / "index.json").read_text())
        self.shards = self.manifest["shards"]
        self.verify = verify
        self._verified: set[int] = set()
        self._open: tuple[int, Any] | None = None
        if verify == "open":
            for i in range(len(self.shards)):
                self._check(i)

    @property
    def layers(self) -> list[int]:
        return self.manifest["layers"]

    def __contains__(self, uid: str) -> bool:
        return uid in self.index

    def _check(self, shard: int) -> None:
        if shard in self._verified or self.verify == "none":
            return
        meta = self.shards[shard]
        path = self.folder / meta["file"]
        if not path.is_file():
            raise DataError(f"latent cache shard {path} is missing")
        if file_sha256(path) != meta["sha256"]:
            raise DataError(f"latent cache shard {path} fails its sha256 check (corrupted or "
                            "modified); delete it and re-run `rdistill extract` to rewrite it")
        self._verified.add(shard)

    def _handle(self, shard: int):
        if self._open is None or self._open[0] != shard:
            self._check(shard)
            self._open = (shard, safe_open(str(self.folder / self.shards[shard]["file"]), framework="pt"))
        return self._open[1]

    def get(self, uid: str, layers: list[int] | None = None) -> dict[str, torch.Tensor]:
        """One example's tensors: ``hidden`` ``(n, L', H)`` fp32 (only ``layers`` if given),
        ``offsets`` ``(n, 2)``; ``n_thoughts`` for a COCONUT teacher's cache; and with top-k stored ``topk_logprobs``/``topk_ids``/``rest_logmass``."""
        if uid not in self.index:
            raise DataError(f"example {uid!r} is not in the latent cache {self.folder}")
        shard, h0, hn, k0, kn, *thoughts = self.index[uid]
        f = self._handle(shard)
        hidden = f.get_slice("hidden")[h0:h0 + hn].float()
        if layers is not None:
            hidden = hidden[:, [self.layers.index(layer) for layer in layers]]
        item = {"hidden": hidden, "offsets": f.get_slice("offsets")[h0:h0 + hn]}
        if thoughts:  # a COCONUT teacher's cache: the first n_thoughts rows are its thoughts
            item["n_thoughts"] = thoughts[0]
        if self.manifest.get("top_k"):
            item["topk_logprobs"] = f.get_slice("topk_logprobs")[k0:k0 + kn].float()
            item["topk_ids"] = f.get_slice("topk_ids")[k0:k0 + kn]
            item["rest_logmass"] = f.get_slice("rest_logmass")[k0:k0 + kn]
        return item
