"""Output folders that are never half-overwritten.

:func:`staged_dir` yields a fresh temporary folder beside the target. Only when the
block finishes without error is it renamed onto the target; on error it is deleted and
the target is untouched. An existing non-empty target is refused unless ``force``; with
``force`` the old folder is first renamed aside (one rename), the new one renamed in
(a second rename), then the old one deleted, so the target path always holds either
the complete old output or the complete new one (or, between the two renames, nothing).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from simulator.errors import UserError

__all__ = ["staged_dir"]


@contextmanager
def staged_dir(target: str | os.PathLike[str], force: bool = False) -> Iterator[Path]:
    """Stage an output folder; see the module docstring.

    Raises:
        UserError: ``target`` exists and is a file, or is non-empty without ``force``.
    """
    dest = Path(target)
    if dest.exists() and not dest.is_dir():
        raise UserError(f"--out {dest}: exists and is not a folder")
    if dest.is_dir() and any(dest.iterdir()) and not force:
        raise UserError(f"--out {dest}: folder exists and is not empty; "
                        "use --force to replace it")
    dest.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{dest.name}.new-", dir=dest.parent))
    umask = os.umask(0)
    os.umask(umask)
    stage.chmod(0o777 & ~umask)  # mkdtemp makes it private; an output folder is not
    try:
        yield stage
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    old: Path | None = None
    if dest.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{dest.name}.old-", dir=dest.parent))
        os.replace(dest, old / "x")
    os.replace(stage, dest)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
