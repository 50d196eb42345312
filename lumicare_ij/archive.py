"""Unpack ZIP archives from elsewhere (models passed between labs) without trusting them.

:func:`safe_extract` is the one way this package unpacks a ZIP. Before a
byte is written it refuses an archive whose entries

- are not on the caller's allow-list (shell-style patterns such as
  ``variables/*``),
- escape the target folder (``../`` parts, absolute names, drive letters,
  backslashes),
- are symbolic links or anything other than plain files and folders,
- appear twice under the same name,
- or are too many, or declare more than the size limit.

While unpacking it counts the bytes actually inflated, so an entry that
inflates beyond its declared size or beyond the limit (a decompression
bomb) stops the extraction. Everything is unpacked into a temporary folder
next to the target and published only when complete
(:func:`lumicare_ij.atomic.atomic_write_folder`); a refused or damaged archive
leaves nothing behind.
"""

from __future__ import annotations

import fnmatch
import stat
import zipfile
import zlib
from pathlib import Path, PurePosixPath

from .atomic import atomic_write_folder
from .errors import LumicareError

__all__ = ["ArchiveError", "safe_extract", "MAX_ARCHIVE_BYTES", "MAX_ENTRIES"]

#: Largest total of inflated bytes accepted (a CARE model is a few MB to a few hundred MB).
MAX_ARCHIVE_BYTES = 2 * 1024 ** 3
#: Most entries accepted in one archive.
MAX_ENTRIES = 10_000
_CHUNK_BYTES = 1024 * 1024


class ArchiveError(LumicareError, ValueError):
    """A ZIP archive that is damaged, unsafe to unpack, or not what was expected."""


def safe_extract(zip_path, dest_dir, allowed, *, required=(), what: str = "ZIP archive",
                 max_bytes: int = MAX_ARCHIVE_BYTES, max_entries: int = MAX_ENTRIES) -> Path:
    """Unpack ``zip_path`` into the new folder ``dest_dir`` after checking every entry; return ``dest_dir``.

    Parameters
    ----------
    zip_path : str or Path
        The archive.
    dest_dir : str or Path
        Folder to create; it must not exist yet.
    allowed : sequence of str
        Shell-style patterns (``fnmatch``) of the file names the archive may
        hold, relative to its root, with ``/`` between folders.
    required : sequence of str
        Names the archive must hold.
    what : str
        What the archive should be, for messages ("Fiji model ZIP").
    max_bytes, max_entries : int
        Limits on the inflated size and the number of entries.

    Raises
    ------
    ArchiveError
        Not a ZIP, damaged, unsafe, too large, or missing a required file;
        the message names the archive and the entry.
    """
    zip_path, dest_dir = Path(zip_path), Path(dest_dir)
    try:
        with zipfile.ZipFile(zip_path) as zf:
            files = _checked_files(zf, zip_path, allowed, required, what, max_bytes, max_entries)
            atomic_write_folder(dest_dir, lambda tmp: _inflate(zf, files, Path(tmp), zip_path, max_bytes))
    except zipfile.BadZipFile as err:
        raise ArchiveError(f"{zip_path} is not a readable ZIP archive ({err}); a {what} was expected.") from None
    except (zipfile.LargeZipFile, NotImplementedError, EOFError, RuntimeError) as err:
        raise ArchiveError(f"{zip_path} cannot be unpacked ({err}); a {what} was expected.") from None
    return dest_dir


def _checked_files(zf, zip_path, allowed, required, what, max_bytes, max_entries) -> list:
    """The archive's file entries after every check that needs no unpacking."""
    infos = zf.infolist()
    if len(infos) > max_entries:
        raise ArchiveError(f"{zip_path} holds {len(infos)} entries, more than the {max_entries} accepted "
                           f"for a {what}.")
    seen, files = set(), []
    for info in infos:
        name = _safe_name(info.filename, zip_path)
        if name in seen:
            raise ArchiveError(f"{zip_path} holds {name!r} twice; refusing an ambiguous {what}.")
        seen.add(name)
        kind = stat.S_IFMT(info.external_attr >> 16)
        if kind and kind not in (stat.S_IFREG, stat.S_IFDIR):
            raise ArchiveError(f"{zip_path}: {name!r} is a link or special file; a {what} holds plain files only.")
        if info.is_dir():
            continue
        if not any(fnmatch.fnmatchcase(name, pattern) for pattern in allowed):
            raise ArchiveError(f"{zip_path}: {name!r} does not belong in a {what} (expected only "
                               f"{', '.join(allowed)}).")
        files.append((name, info))
    missing = [name for name in required if name not in seen]
    if missing:
        raise ArchiveError(f"{zip_path} has no {', '.join(missing)} at its root; it is not a {what}.")
    declared = sum(info.file_size for _, info in files)
    if declared > max_bytes:
        raise ArchiveError(f"{zip_path} would unpack to {declared / 1e6:.0f} MB, more than the "
                           f"{max_bytes / 1e6:.0f} MB accepted for a {what}.")
    return files


def _safe_name(raw: str, zip_path) -> str:
    """The entry's name as a relative POSIX path inside the target, or an error if it could leave it."""
    name = raw.rstrip("/")
    parts = PurePosixPath(name).parts
    if (not name or "\\" in raw or raw.startswith("/") or ":" in (parts[0] if parts else "")
            or any(part in ("..", ".") for part in parts) or "\0" in raw):
        raise ArchiveError(f"{zip_path}: entry {raw!r} would be written outside the target folder; refusing it.")
    return "/".join(parts)


def _inflate(zf, files, root: Path, zip_path, max_bytes: int) -> None:
    """Copy each entry into ``root``, counting inflated bytes against its declared size and the limit."""
    root.mkdir()
    total = 0
    for name, info in files:
        target = root.joinpath(*name.split("/"))
        target.parent.mkdir(parents=True, exist_ok=True)
        written = 0
        with open(target, "xb") as dst:
            for chunk in _read_chunks(zf, info, zip_path):
                written += len(chunk)
                total += len(chunk)
                if written > info.file_size or total > max_bytes:
                    raise ArchiveError(f"{zip_path}: {name!r} inflates beyond its declared "
                                       f"{info.file_size} bytes or the {max_bytes / 1e6:.0f} MB limit "
                                       "(a damaged archive or a decompression bomb); nothing was unpacked.")
                dst.write(chunk)


def _read_chunks(zf, info, zip_path):
    """The inflated bytes of one entry; a damaged entry is an ArchiveError (errors writing them are not)."""
    try:
        with zf.open(info) as src:
            while chunk := src.read(_CHUNK_BYTES):
                yield chunk
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError) as err:
        raise ArchiveError(f"{zip_path}: {info.filename!r} is damaged ({err}); nothing was unpacked.") from None
