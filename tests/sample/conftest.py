"""What the sample tests share."""

from __future__ import annotations

import hashlib
from pathlib import Path


def digest(files: dict[str, Path]) -> dict[str, str]:
    """SHA-256 of every file written, sidecars (``.dbf``, ``.shx``, ...) included, by file name."""
    found = {}
    for path in files.values():
        for file in sorted(path.parent.glob(path.stem + ".*")):
            found[file.name] = hashlib.sha256(file.read_bytes()).hexdigest()
    return found
