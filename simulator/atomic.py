"""Writing outputs safely: atomic files and staged output folders, no litter after a kill.

* :func:`atomic_write` writes a file to a temporary name in the same folder, then renames
  it: a reader (or a crash) sees either the old content or the new, never half of it.
* :func:`staged_dir` yields a fresh temporary folder beside the target. Only when the
  block finishes without error is it renamed onto the target; on error it is deleted and
  the target is untouched. An existing non-empty target is refused unless ``force``; with
  ``force`` the old folder is first renamed aside (one rename), the new one renamed in
  (a second rename), then the old one deleted, so the target path always holds either
  the complete old output or the complete new one (or, between the two renames, nothing).

Every temporary name records its owner: ``.NAME.new-HOST-PID-xxxx`` (folders),
``.NAME.old-HOST-PID-xxxx`` and ``.NAME.HOST-PID-xxxx.tmp`` (files), with HOST a short
hash of the host name. A process killed with SIGKILL cannot clean up, so the next write
of the same target removes the temporaries whose process is gone (same host, PID no
longer running, or this very PID but not held by this process: a recycled PID). The
CLI turns SIGTERM into a clean exit, so the ``finally`` blocks here run on a plain kill.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import socket
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import polars as pl

from simulator.errors import UserError

__all__ = ["atomic_write", "atomic_write_bytes", "atomic_write_parquet", "atomic_write_text",
           "remove_stale", "staged_dir"]

_HOST = hashlib.sha256(socket.gethostname().encode()).hexdigest()[:8]
_OWNER = re.compile(r"^(?P<host>[0-9a-f]{8})-(?P<pid>\d+)-")
_HELD: set[str] = set()  # temporaries this process is writing right now


def _tag() -> str:
    return f"{_HOST}-{os.getpid()}-"


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: alive, another user's
        return True
    return True


def remove_stale(folder: str | os.PathLike[str], name: str) -> list[Path]:
    """Remove the temporaries of target ``name`` in ``folder`` left by dead processes.

    Only names carrying this host's tag and a PID that no longer runs (or this PID, not
    held by this process) are removed; a live writer's temporaries are never touched.

    Returns:
        the removed paths.
    """
    base = Path(folder)
    removed: list[Path] = []
    try:
        entries = list(base.iterdir())
    except OSError:
        return removed
    for entry in entries:
        rest = None
        for prefix in (f".{name}.new-", f".{name}.old-", f".{name}."):
            if entry.name.startswith(prefix):
                rest = entry.name[len(prefix):]
                break
        m = _OWNER.match(rest or "")
        if m is None or m["host"] != _HOST or str(entry) in _HELD:
            continue
        if prefix == f".{name}." and not entry.name.endswith(".tmp"):
            continue
        pid = int(m["pid"])
        if pid != os.getpid() and _alive(pid):
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
        removed.append(entry)
    return removed


def _parent_ready(p: Path, what: str) -> None:
    """Create ``p``'s parent folder, or raise naming the part that blocks it."""
    for q in p.parents:
        if q.exists() and not q.is_dir():
            raise UserError(f"{what} {p}: {q} is a file, not a folder; choose another path")
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"{what} {p}: cannot create the folder {p.parent} "
                        f"({exc.strerror or exc}); choose a writable path") from None
    if not os.access(p.parent, os.W_OK | os.X_OK):
        raise UserError(f"{what} {p}: the folder {p.parent} is not writable; "
                        "choose a writable path")


def atomic_write(path: str | os.PathLike[str], write: Callable[[str], Any],
                 inner_name: str | None = None) -> Path:
    """Call ``write(tmp_path)`` then rename ``tmp_path`` onto ``path``.

    Args:
        path: the final file.
        write: writes the complete content to the temporary path it is given.
        inner_name: give the temporary this fixed file name (inside a private temporary
            folder), for writers that record their file's name in the content (torch).

    Raises:
        UserError: the folder cannot be created or written (names the path).
    """
    p = Path(path)
    _parent_ready(p, "output file")
    remove_stale(p.parent, p.name)
    prefix = f".{p.name}.{_tag()}"
    try:
        if inner_name is None:
            fd, tmp = tempfile.mkstemp(prefix=prefix, suffix=".tmp", dir=p.parent)
            os.close(fd)
            holder = tmp
        else:
            holder = tempfile.mkdtemp(prefix=prefix, suffix=".tmp", dir=p.parent)
            tmp = os.path.join(holder, inner_name)
    except OSError as exc:
        raise UserError(f"output file {p}: cannot write in {p.parent} "
                        f"({exc.strerror or exc}); choose a writable path") from None
    _HELD.add(holder)
    try:
        write(tmp)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; match a normal open()
        os.replace(tmp, p)
    finally:
        _HELD.discard(holder)
        if os.path.isdir(holder):
            shutil.rmtree(holder, ignore_errors=True)
        elif os.path.exists(holder):
            os.unlink(holder)
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


@contextmanager
def staged_dir(target: str | os.PathLike[str], force: bool = False) -> Iterator[Path]:
    """Stage an output folder; see the module docstring.

    Raises:
        UserError: ``target`` exists and is a file, or is non-empty without ``force``,
            or its parent cannot be created or written.
    """
    dest = Path(target)
    if dest.exists() and not dest.is_dir():
        raise UserError(f"--out {dest}: exists and is not a folder")
    if dest.is_dir() and any(dest.iterdir()) and not force:
        raise UserError(f"--out {dest}: folder exists and is not empty; "
                        "use --force to replace it")
    _parent_ready(dest, "--out")
    remove_stale(dest.parent, dest.name)
    try:
        stage = Path(tempfile.mkdtemp(prefix=f".{dest.name}.new-{_tag()}", dir=dest.parent))
    except OSError as exc:
        raise UserError(f"--out {dest}: cannot write in {dest.parent} "
                        f"({exc.strerror or exc}); choose a writable path") from None
    _HELD.add(str(stage))
    try:
        stage.chmod(0o777 & ~_umask())  # mkdtemp makes it private; an output folder is not
        try:
            yield stage
        except BaseException:
            shutil.rmtree(stage, ignore_errors=True)
            raise
        old: Path | None = None
        if dest.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{dest.name}.old-{_tag()}", dir=dest.parent))
            _HELD.add(str(old))
            os.replace(dest, old / "x")
        os.replace(stage, dest)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
            _HELD.discard(str(old))
    finally:
        _HELD.discard(str(stage))
