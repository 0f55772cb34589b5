"""A result cache keyed by (claim id, run configuration, source code).

Long verification runs resume from here: a claim whose key is already stored is not run again;
each result is stored as soon as its claim finishes (also when claims run on an executor).
The code fingerprint hashes every ``.py`` file of the ``theory``, ``numerics`` and ``verification``
packages, so any code change invalidates the cache (no stale verdicts).
"""
from __future__ import annotations

import functools
import hashlib
import importlib.util
import json
import os
import socket
import warnings
from pathlib import Path

__all__ = ["ResultCache", "code_fingerprint", "default_cache_dir", "REQUIRED_KEYS"]

#: Keys every stored claim result has (a JSON without them is a damaged entry).
REQUIRED_KEYS = frozenset({"id", "title", "source", "verdict"})


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
        """The stored result dict, or None when absent or damaged.

        A damaged entry (unreadable, truncated JSON, not a dict, lacking one of :data:`REQUIRED_KEYS`,
        or stored for another claim) is reported with a ``RuntimeWarning`` naming the file and is
        recomputed (and overwritten), never used.
        """
        p = self._path(claim_id, config)
        if not p.exists():
            return None
        try:
            data = json.loads(p.read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            warnings.warn(f"claim cache entry {p} is unreadable ({type(exc).__name__}: {exc}); recomputing it",
                          RuntimeWarning, stacklevel=2)
            return None
        missing = sorted(REQUIRED_KEYS - set(data)) if isinstance(data, dict) else sorted(REQUIRED_KEYS)
        if missing or data.get("id") != claim_id:
            why = f"lacks {missing}" if missing else f"holds claim {data.get('id')!r}, not {claim_id!r}"
            warnings.warn(f"claim cache entry {p} {why}; recomputing it", RuntimeWarning, stacklevel=2)
            return None
        return data

    def store(self, claim_id: str, config: dict, result: dict) -> None:
        """Write one claim's result dict (atomically: a temporary file renamed into place)."""
        p = self._path(claim_id, config)
        p.parent.mkdir(parents=True, exist_ok=True)
        tmp = p.with_name(f"{p.stem}.{socket.gethostname()}-{os.getpid()}.tmp")  # unique on a shared FS
        tmp.write_text(json.dumps(result, indent=1, sort_keys=True))
        os.replace(tmp, p)

    def entries(self) -> list[Path]:
        """Every stored entry (the ``*.json`` files directly in ``directory``)."""
        if not self.directory.is_dir():
            return []
        return sorted(self.directory.glob("*.json"))

    def size_bytes(self) -> int:
        """Total size of the stored entries."""
        return sum(p.stat().st_size for p in self.entries())

    def clear(self) -> int:
        """Delete every entry (and leftover temporary files); returns how many entries were removed.
        Other files in ``directory`` are left alone."""
        removed = 0
        for p in self.entries():
            p.unlink(missing_ok=True)
            removed += 1
        if self.directory.is_dir():
            for p in self.directory.glob("*.tmp"):
                p.unlink(missing_ok=True)
        return removed
