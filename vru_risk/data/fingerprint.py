"""Content hashes as identity: a file's sha256 and the data fingerprint of a folder.

The fingerprint of DESIGN.md identifies a data folder by its bytes: the sha256 of the sorted
per-file sha256s. Validation computes it, the synthetic generator writes file hashes into its
manifest, and feature tables carry the fingerprint of the folder they were built from.

Example
-------
>>> folder_fingerprint(["b" * 64, "a" * 64]) == folder_fingerprint(["a" * 64, "b" * 64])
True
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path
from typing import Final

#: Bytes read at a time when hashing or scanning a file.
CHUNK: Final = 1 << 22


def file_sha256(path: Path) -> str:
    """sha256 of a file's bytes (hex), read in chunks."""
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            h.update(chunk)
    return h.hexdigest()


def folder_fingerprint(file_hashes: Iterable[str]) -> str:
    """The data fingerprint of DESIGN.md: sha256 of the sorted per-file sha256s."""
    return hashlib.sha256("\n".join(sorted(file_hashes)).encode()).hexdigest()
