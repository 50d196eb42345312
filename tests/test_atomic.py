"""Atomic writes: whole or nothing, never over a user's file, also where hard links do not exist."""

import errno
import os
import stat
import subprocess
import sys

import numpy as np
import pytest

from lumicare_ij import atomic, io
from lumicare_ij.errors import LumicareError, OutputExistsError


@pytest.fixture(params=["hard links", "no hard links"])
def filesystem(request, monkeypatch):
    """Run each test on this file system, and once more as on exFAT/SMB/NFS, where os.link fails."""
    if request.param == "no hard links":
        def no_link(src, dst, *args, **kwargs):
            raise PermissionError(errno.EPERM, "Operation not permitted", str(src))
        monkeypatch.setattr(os, "link", no_link)
    return request.param


def leftovers(folder):
    return sorted(p.name for p in folder.iterdir() if ".part." in p.name)


def test_writes_whole_file_and_no_temporary_remains(tmp_path, filesystem):
    path = atomic.atomic_write_text(tmp_path / "sub" / "record.json", '{"a": 1}\n')
    assert path.read_text() == '{"a": 1}\n'
    assert leftovers(path.parent) == []


def test_refuses_an_existing_file_and_leaves_it_alone(tmp_path, filesystem):
    path = tmp_path / "mine.txt"
    path.write_text("the user's own")
    with pytest.raises(OutputExistsError, match="already exists") as err:
        atomic.atomic_write_text(path, "ours")
    assert isinstance(err.value, LumicareError) and isinstance(err.value, FileExistsError)
    assert path.read_text() == "the user's own" and leftovers(tmp_path) == []
    atomic.atomic_write_text(path, "ours", overwrite=True)
    assert path.read_text() == "ours" and leftovers(tmp_path) == []


def test_a_file_that_appears_while_writing_is_not_replaced(tmp_path, filesystem):
    path = tmp_path / "race.tif"

    def write(tmp):
        path.write_text("written by someone else meanwhile")
        open(tmp, "w").write("ours")

    with pytest.raises(OutputExistsError, match="appeared while"):
        atomic.atomic_write(path, write)
    assert path.read_text() == "written by someone else meanwhile"
    assert leftovers(tmp_path) == []


def test_a_failing_writer_leaves_nothing(tmp_path, filesystem):
    def write(tmp):
        open(tmp, "w").write("half")
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(OSError, match="No space"):
        atomic.atomic_write(tmp_path / "out.npz", write)
    assert list(tmp_path.iterdir()) == []


def test_temporary_name_ends_like_the_target(tmp_path, filesystem):
    """Keras and NumPy choose the format from the name: the temporary file must end like the target."""
    seen = []
    atomic.atomic_write(tmp_path / "weights_best.weights.h5", lambda tmp: (seen.append(tmp), open(tmp, "w").close()))
    assert seen[0].endswith("weights_best.weights.h5") and os.path.basename(seen[0]).startswith(".")


def test_stacks_are_written_without_hard_links_too(tmp_path, filesystem):
    data = np.arange(2 * 4 * 5, dtype=np.uint16).reshape(2, 4, 5)
    path = io.write_stack(tmp_path / "s.tif", data)
    np.testing.assert_array_equal(io.read_array(path), data)
    with pytest.raises(OutputExistsError):
        io.write_stack(path, data + 1)
    np.testing.assert_array_equal(io.read_array(path), data)


def test_the_umask_is_applied_and_never_changed(tmp_path, monkeypatch):
    """A process-wide umask change races with other threads; the kernel applies it on create instead."""
    def no_umask(mask):
        raise AssertionError("os.umask must not be called")

    old = os.umask(0o027)
    try:
        monkeypatch.setattr(os, "umask", no_umask)
        path = atomic.atomic_write_text(tmp_path / "a.txt", "x")
        io.write_stack(tmp_path / "a.tif", np.zeros((3, 3), np.uint8))
    finally:
        monkeypatch.undo()
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert stat.S_IMODE((tmp_path / "a.tif").stat().st_mode) == 0o640


def test_a_killed_writer_leaves_no_file_under_the_final_name(tmp_path):
    """SIGKILL in the middle of a write: the target name never holds a partial file."""
    script = (
        "import os, signal, sys\n"
        "from lumicare_ij import atomic\n"
        "def write(tmp):\n"
        "    open(tmp, 'w').write('half')\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
        f"atomic.atomic_write_text({str(tmp_path / 'x.json')!r}, '')\n"
        f"atomic.atomic_write({str(tmp_path / 'out.json')!r}, write)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True)
    assert done.returncode == -9
    assert not (tmp_path / "out.json").exists()
    assert (tmp_path / "x.json").read_text() == ""


def test_stale_parts_of_a_folder_output_are_removed_too(tmp_path):
    """Regression: a partial OME-Zarr folder made the clean-up fail with 'Is a directory', hiding the real error."""
    from lumicare_ij.atomic import remove_stale_parts

    (tmp_path / ".0badc0de.part.volume.ome.zarr" / "0").mkdir(parents=True)
    (tmp_path / ".0badc0de.part.volume.ome.zarr" / "0" / "c").write_bytes(b"chunk")
    (tmp_path / ".1badc0de.part.volume.ome.zarr").write_bytes(b"file")
    (tmp_path / "volume.ome.zarr").mkdir()  # the finished output stays
    assert remove_stale_parts(tmp_path / "volume.ome.zarr") == 2
    assert [p.name for p in tmp_path.iterdir()] == ["volume.ome.zarr"]
