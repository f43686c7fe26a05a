"""Identity of a data folder: by content (every byte hashed) or by file metadata.

The fingerprint of DESIGN.md identifies a data folder by its bytes: the sha256 of the sorted
per-file sha256s (``content``, the default). Validation computes it, the synthetic generator
writes file hashes into its manifest, and feature tables carry the fingerprint of the folder
they were built from.

At national scale (an 80M-row attendance file) hashing every byte on one machine costs more
than the validation itself, so a ``metadata`` fingerprint is offered too: per file, the sha256
of its name, size in bytes and modification time (nanoseconds), plus the object store's ETag
where there is one. It changes whenever a file is rewritten, but two folders with the same
bytes written at different times differ, and a file changed in place with its size and time
restored would not be noticed: it identifies a delivery, not its content. Which kind a
fingerprint is travels with it (the validation report, the feature table's metadata, the
model's provenance), so nobody reads one as the other.

Example
-------
>>> folder_fingerprint(["b" * 64, "a" * 64]) == folder_fingerprint(["a" * 64, "b" * 64])
True
>>> fingerprint_kind("Metadata", "--fingerprint")
'metadata'
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path
from typing import Final, Literal

#: Bytes read at a time when hashing or scanning a file.
CHUNK: Final = 1 << 22

FingerprintKind = Literal["content", "metadata"]
FINGERPRINT_KINDS: Final[tuple[FingerprintKind, ...]] = ("content", "metadata")


def fingerprint_kind(text: str, option: str) -> FingerprintKind:
    """``text`` as a fingerprint kind (any case); a :class:`ValueError` naming ``option``."""
    for kind in FINGERPRINT_KINDS:
        if text.strip().lower() == kind:
            return kind
    raise ValueError(f"{option} {text!r}: choose one of {', '.join(FINGERPRINT_KINDS)}")


def file_sha256(path: Path) -> str:
    """sha256 of a file's bytes (hex), read in chunks."""
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            h.update(chunk)
    return h.hexdigest()


def file_metadata_sha256(path: Path, etag: str | None = None) -> str:
    """sha256 (hex) of a file's name, size, modification time in nanoseconds and ``etag`` (an
    object store's entity tag, when the file has one): never its bytes."""
    st = path.stat()
    text = f"{path.name}\0{st.st_size}\0{st.st_mtime_ns}\0{etag or ''}"
    return hashlib.sha256(text.encode()).hexdigest()


def file_identity(path: Path, kind: FingerprintKind) -> str:
    """The per-file hash of a fingerprint of ``kind``."""
    return file_sha256(path) if kind == "content" else file_metadata_sha256(path)


def folder_fingerprint(file_hashes: Iterable[str]) -> str:
    """The data fingerprint of DESIGN.md: sha256 of the sorted per-file hashes."""
    return hashlib.sha256("\n".join(sorted(file_hashes)).encode()).hexdigest()
