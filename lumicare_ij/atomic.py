"""Atomic writes: every file this package writes appears whole or not at all.

One mechanism for TIFFs, JSON records, ``config.json``, model weights, ZIPs,
bioimage.io packages and reports: the content is written to a hidden
temporary file in the target's own folder (so the final rename never crosses
file systems), flushed to disk with ``fsync``, then renamed into place.

Refusing to overwrite must also hold on the file systems microscope data
live on. A hard link (``os.link``) publishes the file only if the name is
free, atomically, but exFAT, FAT, SMB and many NFS mounts have no hard
links; there the name is reserved with an exclusive create
(``O_CREAT | O_EXCL``, supported everywhere) and the finished file renamed
over that reservation. The process-wide umask is never changed: the
temporary file is created with mode 0666 and the kernel applies the umask,
so results get the user's usual permissions.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import secrets
import shutil
from pathlib import Path

from .errors import OutputExistsError

#: errno values meaning that the storage cannot take the output (the same for every file of a run).
STORAGE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS}
#: The names of this module's temporaries: ``.XXXXXXXX.part.NAME``.
_TEMPORARY = re.compile(r"^\.[0-9a-f]{8}\.part\.")
#: Errors of os.link that mean "this file system has no hard links", not "the name is taken".
_NO_HARD_LINKS = {errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.ENOSYS, errno.EXDEV, errno.EMLINK,
                  errno.EACCES, errno.EINVAL}


def atomic_write(path, write, overwrite: bool = False) -> Path:
    """Run ``write(tmp_path)`` on a temporary file next to ``path``, then move it to ``path``.

    Parameters
    ----------
    path : str or Path
        Final file name; its folder is created if needed.
    write : callable
        Called with the temporary file's name (a str ending in ``path``'s own
        name, so tools that pick a format from the suffix, like Keras, pick
        the same one). It must write the whole content there.
    overwrite : bool
        Replace an existing ``path``. If False, an existing file (or one that
        appears while writing) is never replaced and
        :class:`~lumicare_ij.errors.OutputExistsError` is raised.

    Returns
    -------
    Path of the written file.
    """
    path = Path(path)
    if not overwrite and path.exists():
        raise OutputExistsError(f"{path} already exists; choose another name or pass overwrite=True "
                                "(--force on the command line) to replace it.")
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        tmp = create_temporary(path)
    except OSError as err:  # a read-only folder: say which output could not be written, not its temporary
        raise OSError(err.errno, err.strerror, str(path)) from err
    try:
        write(str(tmp))
        _fsync_file(tmp)
        if overwrite:
            os.replace(tmp, path)
        else:
            _publish_without_replacing(tmp, path)
    except BaseException as err:
        full = _disk_full(err, path)  # asked before the temporary's space is given back
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        if full is not None:
            raise full from err
        raise
    _fsync_folder(path.parent)
    return path


def atomic_write_folder(path, write, overwrite: bool = False) -> Path:
    """Run ``write(tmp_path)`` to create a whole folder next to ``path``, then rename it to ``path``.

    The folder twin of :func:`atomic_write` (OME-Zarr volumes, unpacked
    archives): ``write`` creates the folder ``tmp_path`` and everything in
    it; a folder rename is atomic, so ``path`` is either absent or complete.
    If ``write`` fails, the temporary folder is removed.
    """
    path = Path(path)
    if not overwrite and path.exists():
        raise OutputExistsError(f"{path} already exists; choose another name or pass overwrite=True "
                                "(--force on the command line) to replace it.")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{secrets.token_hex(4)}.part.{path.name}")
    try:
        write(str(tmp))
        if overwrite and path.exists():
            shutil.rmtree(path)
        try:
            os.rename(tmp, path)  # fails if a non-empty folder took the name meanwhile
        except OSError as err:
            if err.errno not in (errno.EEXIST, errno.ENOTEMPTY):
                raise
            raise OutputExistsError(f"{path} appeared while it was being written; it was not replaced.") from None
    except BaseException as err:
        full = _disk_full(err, path)
        shutil.rmtree(tmp, ignore_errors=True)
        if full is not None:
            raise full from err
        raise
    _fsync_folder(path.parent)
    return path


def atomic_write_text(path, text: str, overwrite: bool = False) -> Path:
    """Write a text file (JSON, CSV, HTML, YAML) atomically, as UTF-8."""
    return atomic_write(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"), overwrite=overwrite)


def atomic_write_bytes(path, data: bytes, overwrite: bool = False) -> Path:
    """Write a binary file (PNG, ...) atomically."""
    return atomic_write(path, lambda tmp: Path(tmp).write_bytes(data), overwrite=overwrite)


def remove_stale_parts(path) -> int:
    """Delete temporary files (or partial folders) a killed writer of ``path`` left behind; return how many.

    Call it only for outputs the calling run owns (it planned to write them):
    a live writer of the same name elsewhere would lose its temporary file.
    """
    path = Path(path)
    removed = 0
    for part in path.parent.glob(f".*.part.{path.name}"):
        _remove_part(part)
        removed += 1
    return removed


def _remove_part(part: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        if part.is_dir() and not part.is_symlink():  # a partial OME-Zarr folder
            shutil.rmtree(part)
        else:
            part.unlink()


def is_storage_failure(err: BaseException) -> bool:
    """True if ``err`` (or an exception it came from) says the storage cannot take more: full, over quota,
    read-only. Every later file of the same run would fail the same way."""
    seen = set()
    while err is not None and id(err) not in seen:
        seen.add(id(err))
        if isinstance(err, OSError) and err.errno in STORAGE_ERRNOS:
            return True
        err = err.__cause__ or err.__context__
    return False


def _disk_full(err: BaseException, path: Path) -> OSError | None:
    """A plain ``OSError(ENOSPC)`` naming ``path`` if a write failed because its file system is full.

    NumPy ("65536 requested and 15232 written"), h5py and TensorFlow report
    a short write without an errno, or as their own exception types; the
    file system's free space, asked while the temporary still holds its
    blocks, tells what happened.
    """
    if isinstance(err, (KeyboardInterrupt, SystemExit)) or is_storage_failure(err):
        return None
    try:
        no_room = os.statvfs(path.parent).f_bavail == 0
    except (OSError, AttributeError):  # AttributeError: no statvfs (Windows)
        return None
    return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path)) if no_room else None


def is_temporary(path) -> bool:
    """True for the hidden temporary files and folders this module writes (``.XXXXXXXX.part.NAME``)."""
    return _TEMPORARY.match(Path(path).name) is not None


def remove_stale_parts_under(folder) -> int:
    """Delete every temporary left under ``folder`` by killed writers; return how many.

    For a folder the calling run owns as a whole (a dataset it is writing);
    see :func:`remove_stale_parts`.
    """
    parts = sorted((p for p in Path(folder).rglob(".*.part.*") if is_temporary(p)), reverse=True)
    for part in parts:
        _remove_part(part)
    return len(parts)


def create_temporary(path: Path) -> Path:
    """Create an empty, hidden, uniquely named file next to ``path`` (mode 0666 less the umask)."""
    for _ in range(100):
        tmp = path.with_name(f".{secrets.token_hex(4)}.part.{path.name}")
        try:
            fd = os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666)
        except FileExistsError:
            continue
        os.close(fd)
        return tmp
    raise OSError(errno.EEXIST, f"could not create a temporary file next to {path}")


def _publish_without_replacing(tmp: Path, path: Path) -> None:
    """Move ``tmp`` to ``path`` only if ``path`` does not exist."""
    try:
        os.link(tmp, path)
    except FileExistsError:
        raise OutputExistsError(f"{path} appeared while it was being written; it was not replaced.") from None
    except OSError as err:
        if err.errno not in _NO_HARD_LINKS:
            raise
        _reserve_then_replace(tmp, path)
    else:
        tmp.unlink()


def _reserve_then_replace(tmp: Path, path: Path) -> None:
    """No hard links here: claim the name with an exclusive create, then rename over the claim."""
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666)
    except FileExistsError:
        raise OutputExistsError(f"{path} appeared while it was being written; it was not replaced.") from None
    os.close(fd)
    try:
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            if path.stat().st_size == 0:  # still our empty claim: give the name back
                path.unlink()
        raise


def _fsync_file(path: Path) -> None:
    with open(path, "rb+") as f:
        os.fsync(f.fileno())


def _fsync_folder(folder: Path) -> None:
    """Make the rename itself durable where the OS allows opening a folder (not on Windows)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


__all__ = ["atomic_write", "atomic_write_text", "atomic_write_bytes", "atomic_write_folder", "create_temporary",
           "is_storage_failure", "is_temporary", "remove_stale_parts", "remove_stale_parts_under"]
