"""Atomic file writes: write to a temporary file in the same folder, then rename.

A reader (or a crash) never sees a half-written file: either the old content or the new.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl

__all__ = ["atomic_write", "atomic_write_bytes", "atomic_write_parquet", "atomic_write_text"]


def atomic_write(path: str | os.PathLike[str], write: Callable[[str], Any]) -> Path:
    """Call ``write(tmp_path)`` then rename ``tmp_path`` onto ``path``.

    Args:
        path: the final file.
        write: writes the complete content to the temporary path it is given.
    """
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent)
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; match a normal open()
        os.replace(tmp, p)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return p


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_parquet(frame: pl.DataFrame, path: str | os.PathLike[str]) -> Path:
    """Write a polars frame as Parquet, atomically. Statistics off for byte-stable files."""
    return atomic_write(path, lambda tmp: frame.write_parquet(tmp, statistics=False))


def atomic_write_text(text: str, path: str | os.PathLike[str]) -> Path:
    """Write UTF-8 text atomically."""
    return atomic_write(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))


def atomic_write_bytes(data: bytes, path: str | os.PathLike[str]) -> Path:
    """Write bytes atomically."""
    return atomic_write(path, lambda tmp: Path(tmp).write_bytes(data))
