"""A result cache keyed by (claim id, run configuration, source code).

Long verification runs resume from here: a claim whose key is already stored is not run again.
The code fingerprint hashes every ``.py`` file of the ``theory``, ``numerics`` and ``verification``
packages, so any code change invalidates the cache (no stale verdicts).
"""
from __future__ import annotations

import functools
import hashlib
import importlib.util
import json
import os
from pathlib import Path

__all__ = ["ResultCache", "code_fingerprint", "default_cache_dir"]


def default_cache_dir() -> Path:
    """``$PTFT_CACHE_DIR``, else ``$XDG_CACHE_HOME/ptft-theory``, else ``~/.cache/ptft-theory``."""
    if os.environ.get("PTFT_CACHE_DIR"):
        return Path(os.environ["PTFT_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "ptft-theory"


@functools.lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """SHA-256 over the source of the theory, numerics and verification packages."""
    h = hashlib.sha256()
    for name in ("theory", "numerics", "verification"):
        spec = importlib.util.find_spec(f"ptft.{name}")
        if spec is None or not spec.submodule_search_locations:
            raise RuntimeError(f"cannot locate the {name!r} package to fingerprint its source")
        root = Path(list(spec.submodule_search_locations)[0])
        for f in sorted(root.rglob("*.py")):
            h.update(str(f.relative_to(root.parent)).encode())
            h.update(f.read_bytes())
    return h.hexdigest()[:16]


class ResultCache:
    """JSON files under ``directory``, one per (claim, config, code) key."""

    def __init__(self, directory: str | os.PathLike | None = None):
        self.directory = Path(directory) if directory is not None else default_cache_dir()

    def key(self, claim_id: str, config: dict) -> str:
        payload = json.dumps({"claim": claim_id, "config": config, "code": code_fingerprint()}, sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()[:24]

    def _path(self, claim_id: str, config: dict) -> Path:
        safe = claim_id.replace("/", "_")
        return self.directory / f"{safe}-{self.key(claim_id, config)}.json"

    def load(self, claim_id: str, config: dict) -> dict | None:
        p = self._path(claim_id, config)
        if not p.exists():
            return None
        try:
            return json.loads(p.read_text())
        except (OSError, json.JSONDecodeError):
            return None  # a damaged entry is recomputed

    def store(self, claim_id: str, config: dict, result: dict) -> None:
        p = self._path(claim_id, config)
        p.parent.mkdir(parents=True, exist_ok=True)
        tmp = p.with_suffix(".tmp")
        tmp.write_text(json.dumps(result, indent=1, sort_keys=True))
        os.replace(tmp, p)
