"""ZIPs from elsewhere: every unsafe or damaged archive is refused, and nothing lands outside the target.

After every case the whole temporary tree is listed: the only files allowed
are the archive itself and, for an accepted archive, the unpacked folder.
"""

import io
import os
import stat
import warnings
import zipfile

import pytest
from hypothesis import HealthCheck, example, given, settings, strategies as st

from lumicare_ij.archive import ArchiveError, safe_extract
from lumicare_ij.errors import OutputExistsError
from lumicare_ij.export import ExportError
from lumicare_ij.export.csbdeep_fiji import MODEL_ZIP_ENTRIES, unzip_model

ALLOWED = MODEL_ZIP_ENTRIES
GOOD = {"saved_model.pb": b"graph", "variables/variables.index": b"i", "meta.json": b"{}"}


def _zip(entries, path):
    """Write ``entries`` (name -> bytes, or ZipInfo -> bytes) as a ZIP at ``path``."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries:
            zf.writestr(name, data)
    return path


def _tree(root):
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*"))


def test_a_model_zip_unpacks_completely(tmp_path):
    out = unzip_model(_zip(GOOD.items(), tmp_path / "m.zip"), tmp_path / "m")
    assert _tree(out) == ["meta.json", "saved_model.pb", "variables", "variables/variables.index"]
    assert (out / "saved_model.pb").read_bytes() == b"graph"
    assert _tree(tmp_path) == ["m", "m.zip", "m/meta.json", "m/saved_model.pb", "m/variables",
                               "m/variables/variables.index"]


def _symlink_info(name):
    info = zipfile.ZipInfo(name)
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    return info


@pytest.mark.parametrize("entries, message", [
    ([("../evil.pb", b"x"), *GOOD.items()], "outside the target folder"),
    ([("/etc/evil", b"x"), *GOOD.items()], "outside the target folder"),
    ([("variables/../../evil", b"x"), *GOOD.items()], "outside the target folder"),
    ([("C:/evil", b"x"), *GOOD.items()], "outside the target folder"),
    ([("variables\\..\\..\\evil", b"x"), *GOOD.items()], "outside the target folder"),
    ([(_symlink_info("variables/link"), b"/etc/passwd"), *GOOD.items()], "link or special file"),
    ([*GOOD.items(), ("saved_model.pb", b"other")], "twice"),
    ([*GOOD.items(), ("run.sh", b"rm -rf ~")], "does not belong"),
    ([("meta.json", b"{}")], "no saved_model.pb"),
])
def test_unsafe_archives_are_refused_before_anything_is_written(tmp_path, entries, message):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about the duplicate name it is asked to write
        archive = _zip(entries, tmp_path / "m.zip")
    with pytest.raises(ExportError, match=message):
        unzip_model(archive, tmp_path / "out" / "m")
    assert _tree(tmp_path) == ["m.zip"] or _tree(tmp_path) == ["m.zip", "out"]


def test_a_decompression_bomb_stops_at_the_limit(tmp_path):
    archive = _zip([("saved_model.pb", b"\0" * 5_000_000)], tmp_path / "bomb.zip")
    assert archive.stat().st_size < 50_000
    with pytest.raises(ArchiveError, match="more than the 1 MB accepted"):
        safe_extract(archive, tmp_path / "m", ALLOWED, max_bytes=1_000_000)
    assert _tree(tmp_path) == ["bomb.zip"]


def test_an_entry_that_inflates_beyond_its_declared_size_is_stopped(tmp_path):
    """A forged central directory: the declared size is small, the data are not."""
    archive = _zip([("saved_model.pb", b"A" * 200_000)], tmp_path / "forged.zip")
    raw = bytearray(archive.read_bytes())
    with zipfile.ZipFile(archive) as zf:
        info = zf.getinfo("saved_model.pb")
    central = raw.rfind(b"PK\x01\x02")  # the central directory entry: file size at offset 24
    raw[central + 24:central + 28] = (100).to_bytes(4, "little")
    local = info.header_offset  # the local header: file size at offset 22
    raw[local + 22:local + 26] = (100).to_bytes(4, "little")
    archive.write_bytes(bytes(raw))
    # zipfile reads only the declared bytes and then fails the CRC; safe_extract counts as well
    with pytest.raises(ArchiveError, match="Bad CRC-32|inflates beyond its declared 100 bytes"):
        safe_extract(archive, tmp_path / "m", ALLOWED)
    assert _tree(tmp_path) == ["forged.zip"]


def test_not_a_zip_and_too_many_entries(tmp_path):
    (tmp_path / "x.zip").write_bytes(b"not a zip at all")
    with pytest.raises(ArchiveError, match="not a readable ZIP archive"):
        safe_extract(tmp_path / "x.zip", tmp_path / "m", ALLOWED)
    many = _zip([(f"variables/{i}", b"") for i in range(20)], tmp_path / "many.zip")
    with pytest.raises(ArchiveError, match="20 entries, more than the 10 accepted"):
        safe_extract(many, tmp_path / "m", ALLOWED, max_entries=10)
    assert _tree(tmp_path) == ["many.zip", "x.zip"]


def test_an_existing_folder_is_never_replaced(tmp_path):
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "mine.txt").write_text("keep")
    with pytest.raises(OutputExistsError, match="already exists"):
        safe_extract(_zip(GOOD.items(), tmp_path / "m.zip"), tmp_path / "m", ALLOWED)
    assert (tmp_path / "m" / "mine.txt").read_text() == "keep"


_names = st.one_of(
    st.sampled_from(["saved_model.pb", "meta.json", "variables/variables.index", "variables/x.data-00000-of-00001",
                     "../x", "../../x", "/abs", "a/../../b", "./saved_model.pb", "C:/x", "a\\..\\b", "assets/",
                     "variables/", "x.sh", "", "variables/../saved_model.pb"]),
    st.text(alphabet="ab./\\:_-", min_size=1, max_size=12),
)


@settings(max_examples=int(os.environ.get("LUMICARE_FUZZ_EXAMPLES", 1000)), deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(entries=st.lists(st.tuples(_names, st.binary(max_size=64)), max_size=6),
       cut=st.one_of(st.none(), st.integers(min_value=0, max_value=400)),
       flip=st.one_of(st.none(), st.tuples(st.integers(min_value=0, max_value=400), st.integers(1, 255))))
@example(entries=[("saved_model.pb", b"")], cut=None, flip=(120, 1))  # zipfile's bare OSError on a flipped header
def test_fuzzed_archives_end_in_a_folder_or_one_clear_error(tmp_path_factory, entries, cut, flip):
    """Generated entry names, truncated or bit-flipped bytes: a complete folder inside the target, or an
    ArchiveError, and nothing else anywhere in the case's folder."""
    root = tmp_path_factory.mktemp("fuzz")
    buffer = io.BytesIO()
    with warnings.catch_warnings(), zipfile.ZipFile(buffer, "w") as zf:
        warnings.simplefilter("ignore")  # duplicate names are part of the fuzz
        for name, data in entries:
            if name:
                try:
                    zf.writestr(name, data)
                except (ValueError, OSError):
                    pass  # zipfile itself refuses some names; those never reach a file
    raw = bytearray(buffer.getvalue())
    if flip is not None and raw:
        raw[flip[0] % len(raw)] ^= flip[1]
    if cut is not None:
        raw = raw[:cut]
    (root / "case.zip").write_bytes(bytes(raw))
    target = root / "out" / "m"
    try:
        safe_extract(root / "case.zip", target, ALLOWED)
    except ArchiveError as err:
        assert str(err).startswith(str(root / "case.zip"))  # names the file
        assert not target.exists()
        outside = [p for p in _tree(root) if p not in ("case.zip", "out")]
        assert outside == [], outside
    else:
        for path in root.rglob("*"):
            resolved = path.resolve()
            assert resolved == (root / "case.zip").resolve() or resolved == (root / "out").resolve() \
                or resolved.is_relative_to(target.resolve()), path
            assert not path.is_symlink()


def test_no_pickle_and_no_unsafe_yaml_anywhere_in_the_package():
    """Files from elsewhere are data, never code: NumPy without pickles, YAML through safe_load only."""
    import re
    from pathlib import Path

    import lumicare_ij

    offences = []
    for path in Path(lumicare_ij.__file__).parent.rglob("*.py"):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if (re.search(r"\bnp\.load\(", line) and "allow_pickle=False" not in line) \
                    or re.search(r"\byaml\.(load|unsafe_load|full_load)\(", line) \
                    or re.search(r"^\s*(import pickle|from pickle|import cloudpickle)", line) \
                    or re.search(r"\.extractall\(", line):
                offences.append(f"{path.name}:{number}: {line.strip()}")
    assert offences == []
