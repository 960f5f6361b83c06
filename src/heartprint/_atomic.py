"""Atomic writes: build a file or a folder under a temporary name beside it, then move it into place.

A reader of the destination sees either what was there before or the complete new
contents, never a half-written file or folder; on any failure (including
``KeyboardInterrupt``) the temporary file or folder is removed and the error propagates.

Temporary names are hidden, begin with the destination's name and carry a recognisable mark
with the writing process's ID: ``.<name>.heartprint-tmp-<pid>-<random>`` (a file or folder
being built) and ``.<name>.heartprint-old-<pid>`` (the previous folder while it is being
replaced, where the file system cannot exchange two names atomically); :func:`temporary_name`
recognises them. They live in the destination's folder, so the final rename stays on one file
system. A process killed mid-write leaves them behind;
:func:`clean_stale` (run at the start of the next run in that folder) removes those whose
process is gone or that are older than :data:`STALE_AFTER_S`, and puts back a previous folder
that a kill left under its ``old`` name.

Replacing a folder (:func:`atomic_dir`): on Linux the new folder and the old one are swapped
with one ``renameat2(RENAME_EXCHANGE)`` call, so the destination name always holds a complete
folder; elsewhere (or on a file system without it) the old folder is first renamed to its
``old`` name, the new one renamed into place and the old one deleted — a kill between the two
renames leaves the old folder under its ``old`` name, restored by :func:`clean_stale`.

Symbolic links are never written through: a destination that is a symbolic link is refused
(:class:`OutputError`), temporary files are created with ``O_EXCL|O_NOFOLLOW``
(:func:`tempfile.mkstemp`) and folders with mode 0700 until they are complete.
"""

from __future__ import annotations

import ctypes
import errno
import os
import re
import shutil
import stat
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from heartprint.errors import HeartprintError

__all__ = ["OLD_MARK", "STALE_AFTER_S", "TMP_MARK", "OutputError", "atomic_dir", "atomic_file", "atomic_write",
           "clean_stale", "refuse_symlink", "temporary_name"]

#: Mark in the name of a file or folder being built: ``.<name>.heartprint-tmp-<pid>-<random>``.
TMP_MARK = ".heartprint-tmp-"
#: Mark in the name of a previous folder while it is replaced: ``.<name>.heartprint-old-<pid>``.
OLD_MARK = ".heartprint-old-"
#: Seconds after which a temporary entry of a process that still seems alive counts as stale
#: (its PID may have been reused, or it was written from another machine).
STALE_AFTER_S = 600.0
_STALE_NAME = re.compile(r"^\.(.*)\.heartprint-(tmp|old)-([0-9]{1,10})(?:-.*)?$", re.S)
#: Longest part of the destination's name kept in a temporary name (NAME_MAX is 255 bytes).
_NAME_PART = 120

#: Test hook: called with a stage name ("written", "exchanged", "old_moved", "swapped") while a
#: folder is put in place, to inject a failure or a kill at that point.
_checkpoint: Callable[[str], None] | None = None


class OutputError(HeartprintError):
    """An output cannot be written where asked (a symbolic link, outside the output folder, not
    a folder, not writable); the message names the path and the reason."""


def _stage(name: str) -> None:
    if _checkpoint is not None:
        _checkpoint(name)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _name_part(name: str) -> str:
    return name[:_NAME_PART]


def _tmp_prefix(name: str) -> str:
    return f".{_name_part(name)}{TMP_MARK}{os.getpid()}-"


def temporary_name(name: str) -> tuple[str, str, int] | None:
    """``(kind, destination name, pid)`` if ``name`` is one of this module's temporary names
    (kind ``"tmp"`` or ``"old"``; the destination name may be cut to 120 characters), else ``None``."""
    m = _STALE_NAME.match(name)
    return None if m is None else (m[2], m[1], int(m[3]))


def refuse_symlink(path: Path, what: str = "output") -> None:
    """:class:`OutputError` if ``path`` itself is a symbolic link (never followed, never replaced)."""
    if os.path.islink(path):
        raise OutputError(f"{what} {path} is a symbolic link (to {os.readlink(path)}): refused, outputs are never "
                          "written through or over a symbolic link")


def _remove(path: Path) -> None:
    """Remove a file, link or folder tree (never following a link)."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if stat.S_ISDIR(st.st_mode):
        shutil.rmtree(path)
    else:
        os.unlink(path)


def _fsync_path(path: Path, *, directory: bool = False) -> None:
    """Flush ``path`` to disk (best effort: some file systems do not support it)."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | (getattr(os, "O_DIRECTORY", 0) if directory else 0)
    try:
        fd = os.open(path, flags)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _fsync_tree(root: Path) -> None:
    for folder, _dirs, files in os.walk(root):
        for f in files:
            _fsync_path(Path(folder) / f)
        _fsync_path(Path(folder), directory=True)


@contextmanager
def atomic_file(path: str | os.PathLike, *, suffix: str = "") -> Iterator[Path]:
    """Yield an empty temporary file beside ``path``; on success move it onto ``path``.

    Parameters
    ----------
    path
        Destination file; its folder is created if missing. A destination that is a symbolic
        link is refused (:class:`OutputError`).
    suffix
        Ending of the temporary name, for writers that choose the format by it
        (e.g. ``".nii.gz"``).

    Notes
    -----
    The temporary file is made by :func:`tempfile.mkstemp` (``O_EXCL|O_NOFOLLOW``, mode 0600);
    before it is moved into place it gets the mode a plain ``open()`` would give (0666 minus
    the umask). It must still be a regular file then (not replaced by a link).
    """
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    refuse_symlink(out)
    fd, name = tempfile.mkstemp(prefix=_tmp_prefix(out.name), suffix=suffix, dir=out.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        if not stat.S_ISREG(os.lstat(tmp).st_mode):
            raise OutputError(f"temporary file {tmp} is no longer a regular file: {out} not written")
        os.chmod(tmp, 0o666 & ~_umask())
        refuse_symlink(out)
        os.replace(tmp, out)
    except BaseException:
        try:
            _remove(tmp)
        except OSError:
            pass
        raise


def atomic_write(path: str | os.PathLike, data: bytes | str, *, fsync: bool = True) -> Path:
    """Write ``data`` (text as UTF-8) to ``path`` atomically, through the descriptor of a file
    created with ``O_EXCL|O_NOFOLLOW`` (never reopened by name). Returns ``path``."""
    out = Path(path)
    payload = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    with atomic_file(out) as tmp:
        fd = os.open(tmp, os.O_WRONLY | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0))
        try:
            view = memoryview(payload)
            while view:
                n = os.write(fd, view)
                view = view[n:]
            if fsync:
                os.fsync(fd)
        finally:
            os.close(fd)
    return out


# -- folders ------------------------------------------------------------------------------------

_AT_FDCWD = -100
_RENAME_EXCHANGE = 2
_renameat2_fn: object = None  # None: not looked up yet; False: unavailable


def _renameat2():  # noqa: ANN202
    global _renameat2_fn
    if _renameat2_fn is None:
        _renameat2_fn = False
        if sys.platform.startswith("linux"):
            try:
                libc = ctypes.CDLL(None, use_errno=True)
                fn = libc.renameat2
                fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
                fn.restype = ctypes.c_int
                _renameat2_fn = fn
            except (OSError, AttributeError):
                pass
    return _renameat2_fn or None


def _exchange(a: Path, b: Path) -> bool:
    """Swap the names ``a`` and ``b`` in one step (Linux ``renameat2(RENAME_EXCHANGE)``); ``False``
    where the platform or file system cannot (then nothing was changed)."""
    fn = _renameat2()
    if fn is None:
        return False
    if fn(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EXDEV):
        return False
    raise OSError(err, os.strerror(err), str(b))


def _discard(path: Path) -> None:
    """Remove the previous contents once the new ones are in place; a failure here is not an
    error of the write (what is left has a temporary name and :func:`clean_stale` removes it)."""
    try:
        _remove(path)
    except OSError:
        pass


def _swap_in(tmp: Path, out: Path) -> None:
    """Put the complete folder ``tmp`` in place as ``out``, replacing what is there (module docstring)."""
    refuse_symlink(out)
    if not os.path.lexists(out):
        os.rename(tmp, out)
        _stage("swapped")
        return
    if _exchange(tmp, out):  # ``tmp`` now names the previous contents
        _stage("exchanged")
        _discard(tmp)
        return
    old = out.with_name(f".{_name_part(out.name)}{OLD_MARK}{os.getpid()}")
    _remove(old)
    os.replace(out, old)
    try:
        _stage("old_moved")
        os.replace(tmp, out)
    except BaseException:
        os.replace(old, out)  # the previous folder back in place
        raise
    _stage("swapped")
    _discard(old)


@contextmanager
def atomic_dir(path: str | os.PathLike) -> Iterator[Path]:
    """Yield an empty temporary folder beside ``path``; on success it replaces ``path``.

    The folder is private (mode 0700) while it is built; when the block ends without an
    error its files are flushed to disk, it gets the usual mode (0777 less the umask) and is
    swapped in (module docstring), and only then is the previous ``path`` deleted. A ``path``
    that is a symbolic link is refused (:class:`OutputError`). Whether replacing an existing
    ``path`` is allowed is the caller's check.
    """
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    refuse_symlink(out)
    tmp = Path(tempfile.mkdtemp(prefix=_tmp_prefix(out.name), dir=out.parent))
    try:
        yield tmp
        _fsync_tree(tmp)
        _stage("written")
        os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes it 0700
        _swap_in(tmp, out)
        _fsync_path(out.parent, directory=True)
    except BaseException:
        try:
            _remove(tmp)
        except OSError:
            pass
        raise


# -- leftovers of killed runs ------------------------------------------------------------------


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # exists (another user's) or cannot tell
    return True


def clean_stale(root: str | os.PathLike, *, older_than_s: float = STALE_AFTER_S) -> list[str]:
    """Remove the temporary files and folders that killed runs left in ``root``.

    An entry with a temporary name (:func:`temporary_name`) is stale when its process is
    gone or it is older than ``older_than_s``; this process's own entries are kept. A previous
    folder left under its ``old`` name whose destination is missing (a kill between the two
    renames of a replacement) is renamed back. Returns one line per entry removed or restored;
    an entry that cannot be removed is left (and said so), never an error.
    """
    base = Path(root)
    done: list[str] = []
    try:
        entries = list(os.scandir(base))
    except OSError:
        return done
    now = time.time()
    for entry in entries:
        found = temporary_name(entry.name)
        if found is None:
            continue
        what, target, pid = found
        if pid == os.getpid():
            continue
        try:
            age = now - entry.stat(follow_symlinks=False).st_mtime
        except OSError:
            continue
        if _pid_alive(pid) and age < older_than_s:
            continue
        path = Path(entry.path)
        try:
            if what == "old" and target and "/" not in target and len(target) < _NAME_PART \
                    and entry.is_dir(follow_symlinks=False) and not os.path.lexists(base / target):
                os.rename(path, base / target)
                done.append(f"restored {base / target} from {entry.name} (a run was killed while replacing it)")
                continue
            _remove(path)
            done.append(f"removed {entry.name} (left by a killed run, process {pid})")
        except OSError as exc:
            done.append(f"could not remove {entry.name}: {exc.strerror or exc}")
    return done
