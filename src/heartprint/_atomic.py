"""Atomic writes: build a file or a folder under a temporary name beside it, then move it into place.

A reader of the destination sees either what was there before or the complete new
contents, never a half-written file or series; on any failure (including
``KeyboardInterrupt``) the temporary file or folder is removed and the error propagates.
The temporary name is hidden (``.<name>.<random>``) and lives in the destination's folder,
so the final :func:`os.replace` is a rename on one file system.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["atomic_dir", "atomic_file"]


@contextmanager
def atomic_file(path: str | os.PathLike, *, suffix: str = "") -> Iterator[Path]:
    """Yield an empty temporary file beside ``path``; on success move it onto ``path``.

    Parameters
    ----------
    path
        Destination file; its folder is created if missing.
    suffix
        Ending of the temporary name, for writers that choose the format by it
        (e.g. ``".nii.gz"``).

    Notes
    -----
    The temporary file is made by :func:`tempfile.mkstemp` (mode 0600); before it is moved
    into place it gets the mode a plain ``open()`` would give (0666 minus the umask).
    """
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=suffix, dir=out.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, out)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextmanager
def atomic_dir(path: str | os.PathLike) -> Iterator[Path]:
    """Yield an empty temporary folder beside ``path``; on success it replaces ``path``.

    An existing ``path`` is first renamed to ``.<name>.old`` (removed beforehand if a
    previous run left it), the new folder is renamed into place and only then is the old
    one deleted. Whether replacing an existing ``path`` is allowed is the caller's check.
    """
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        yield tmp
        os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes it 0700
        if out.exists():
            old = out.with_name(f".{out.name}.old")
            if old.exists():
                shutil.rmtree(old)
            os.replace(out, old)
            os.replace(tmp, out)
            shutil.rmtree(old)
        else:
            os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
