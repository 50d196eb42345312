"""Where the experiments' stacks come from: the simulator, or the user's own folders.

Every experiment reads a training set and a held-out set of one specimen, each
in the layout of ``lumicare simulate`` (``<set>/<condition>/<stack>.tif``,
the same stack names in every condition).

Simulated (default)
    ``OUT/data/<scale>/<specimen>/train`` and ``.../test``, simulated with
    different seeds (the held-out cells are new specimens), on first use.

Own data (``--data DIR``), any of:

1. a folder written by ``lumicare simulate`` (it has ``manifest.json``, which
   names the specimen), or one with ``train/`` and ``test/`` sub-folders of
   that layout;
2. a folder with one such folder per specimen: ``DIR/cytoplasmic``,
   ``DIR/h2b``, ``DIR/tomm20`` (each with condition sub-folders, or
   ``train/`` and ``test/``; a manifest is optional here);
3. a JSON or YAML file mapping specimens to folders::

       {"cytoplasmic": {"lum_60s": "cyto/60s", "lum_60s_rep2": "cyto/60s_again",
                        "lum_0.5s": "cyto/0.5s"},
        "h2b": "h2b_dataset/",
        "tomm20": {"train": {"lum_4s": "...", "fluo": "..."},
                   "test": {"lum_4s": "...", "fluo": "..."}}}

   A specimen maps to a dataset folder (1), to ``{condition: folder}``, or to
   ``{"train": ..., "test": ...}``. Relative paths are relative to the file.

Without ``train``/``test`` the stacks are split by name: the last third of
them (at least one; per treatment for TOMM20) is held out for evaluation,
the rest is used for training. TOMM20 treatments are read from the manifest
or from the stack names (``..._dmso``, ``..._rotenone``). The user's files are
never written: ``OUT/data/own`` holds links to them.
"""

from __future__ import annotations

import json
import os
import re
import reprlib
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import UserInputError
from ..io import list_stacks
from .settings import SPECIMEN_NAMES, Settings

#: Folders of a simulated dataset that hold no acquisition condition.
NOT_CONDITIONS = ("ground_truth", "labels")
_PHENOTYPE = re.compile(r"(dmso|rotenone)", re.IGNORECASE)


_CONDITION_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]*")


class DataError(UserInputError):
    """Own data that cannot be used, with what to do about it."""


@dataclass
class SpecimenData:
    """The training and held-out sets of one specimen."""

    specimen: str
    train_conditions: set
    test_conditions: set
    origin: str
    train_dir: Path | None = None
    test_dir: Path | None = None
    phenotypes: dict = field(default_factory=dict)
    problem: str | None = None  # why experiments of this specimen cannot run

    def test_stacks(self, condition: str) -> list[str]:
        return sorted(p.stem for p in list_stacks(self.test_dir / condition))


def condition_folders(folder: Path) -> dict:
    """``{condition: folder}`` of the sub-folders that hold .tif stacks."""
    folder = Path(folder)
    out = {}
    if folder.is_dir():
        for sub in sorted(folder.iterdir()):
            if sub.is_dir() and not sub.name.startswith(".") and sub.name not in NOT_CONDITIONS and list_stacks(sub):
                out[sub.name] = sub
    return out


def phenotype_of(name: str) -> str | None:
    """"dmso" or "rotenone" from a stack name, else None."""
    found = _PHENOTYPE.findall(name)
    return found[-1].lower() if found else None


# --------------------------------------------------------------------------
# Simulated data
# --------------------------------------------------------------------------

class SimulatedData:
    """Training and held-out sets simulated on first use under ``root``."""

    description = "simulated (lumicare_ij.simulate)"

    def __init__(self, root, settings: Settings, progress: bool = True):
        self.root = Path(root)
        self.settings = settings
        self.progress = progress
        self._cache: dict = {}

    def available(self, specimen: str) -> SpecimenData:
        """What the simulator records of a specimen (no simulation yet)."""
        from ..simulate import SPECIMENS

        conditions = {c.name for c in SPECIMENS[specimen].conditions}
        return SpecimenData(specimen, set(conditions), set(conditions), self.description)

    def dataset(self, specimen: str) -> SpecimenData:
        if specimen in self._cache:
            return self._cache[specimen]
        from ..simulate import read_manifest, simulate_dataset

        s = self.settings
        dirs = {}
        for split, n, seed in (("train", s.n_train[specimen], s.seed), ("test", s.n_test[specimen], s.test_seed)):
            folder = self.root / specimen / split
            want = {"n_stacks": int(n), "seed": int(seed), "shape_zyx": list(s.shapes[specimen])}
            manifest = folder / "manifest.json"
            complete = False
            if manifest.is_file():  # written last by simulate_dataset: the folder is complete
                m = read_manifest(folder)
                complete = all(m.get(k) == v for k, v in want.items())
            if not complete:
                if folder.exists():
                    shutil.rmtree(folder)
                simulate_dataset(specimen, folder, n_stacks=n, shape_zyx=s.shapes[specimen], seed=seed,
                                 progress=self.progress)
            dirs[split] = folder
        manifest = read_manifest(dirs["test"])
        phenotypes = {st["name"]: st.get("phenotype") for st in manifest["stacks"]}
        data = self.available(specimen)
        data.train_dir, data.test_dir, data.phenotypes = dirs["train"], dirs["test"], phenotypes
        self._cache[specimen] = data
        return data


# --------------------------------------------------------------------------
# Own data
# --------------------------------------------------------------------------

def _read_mapping(path: Path) -> dict:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise DataError(f"{path}: not UTF-8 text ({err.reason} at byte {err.start}).") from None
    if path.suffix.lower() in (".yaml", ".yml"):
        try:
            import yaml
        except ImportError:
            raise DataError(f"{path}: reading YAML needs PyYAML (python3 -m pip install pyyaml); "
                            "or write the same mapping as JSON.") from None
        try:
            mapping = yaml.safe_load(text)
        except yaml.YAMLError as err:  # its text spans lines, with a caret under the spot: one line here
            raise DataError(f"{path}: not valid YAML ({' '.join(str(err).replace('^', '').split())}).") from None
    else:
        try:
            mapping = json.loads(text)
        except json.JSONDecodeError as err:
            raise DataError(f"{path}: not valid JSON ({err}).") from None
    if not isinstance(mapping, dict) or not mapping:
        raise DataError(f"{path}: expected a mapping of specimens ({', '.join(SPECIMEN_NAMES)}) to folders.")
    return mapping


def _resolve(base: Path, value, what: str) -> Path:
    if not isinstance(value, (str, os.PathLike)):
        raise DataError(f"{what}: expected a folder path, got {reprlib.repr(value)}.")
    path = Path(value).expanduser()
    path = path if path.is_absolute() else base / path
    if not path.is_dir():
        raise DataError(f"{what}: {path} is not a folder.")
    return path


def _split_sets(spec, base: Path, what: str) -> tuple[dict, dict | None]:
    """``(train_or_all, test_or_None)`` as ``{condition: folder}`` from one specimen entry."""
    if isinstance(spec, dict) and set(spec) == {"train", "test"}:
        return _condition_map(spec["train"], base, f"{what}.train"), _condition_map(spec["test"], base, f"{what}.test")
    if isinstance(spec, dict):
        return _condition_map(spec, base, what), None
    folder = _resolve(base, spec, what)
    if (folder / "train").is_dir() and (folder / "test").is_dir():
        return _condition_map(folder / "train", base, f"{what}/train"), \
            _condition_map(folder / "test", base, f"{what}/test")
    return _condition_map(folder, base, what), None


def _condition_map(spec, base: Path, what: str) -> dict:
    if isinstance(spec, dict):
        out = {}
        for cond, folder in spec.items():
            _check_condition_name(cond, what)
            path = _resolve(base, folder, f"{what}.{cond}")
            if not list_stacks(path):
                raise DataError(f"{what}.{cond}: {path} holds no .tif stacks.")
            out[str(cond)] = path
        return out
    folder = _resolve(base, spec, what)
    found = condition_folders(folder)
    if not found:
        raise DataError(f"{what}: {folder} has no condition sub-folders with .tif stacks "
                        "(expected e.g. lum_60s/, lum_0.5s/ as 'lumicare simulate' writes).")
    return found


def _check_condition_name(name, what: str) -> None:
    """A condition becomes a folder name inside the output: one plain name, never a path out of it."""
    if not (isinstance(name, str) and _CONDITION_NAME.fullmatch(name) and name not in (".", "..")):
        raise DataError(f"{what}: condition name {reprlib.repr(name)} is not a plain folder name (letters, digits, "
                        "'.', '_', '-', '+'; e.g. lum_60s); it names a folder in the output.")


def _manifest_specimen(folder: Path) -> str | None:
    for candidate in (folder / "manifest.json", folder / "train" / "manifest.json", folder / "test" / "manifest.json"):
        if candidate.is_file():
            try:
                return json.loads(candidate.read_text(encoding="utf-8")).get("specimen")
            except (json.JSONDecodeError, AttributeError):
                raise DataError(f"{candidate}: damaged manifest (not JSON).") from None
    return None


def _manifest_phenotypes(folders) -> dict:
    out = {}
    for folder in folders:
        for root in {Path(folder).parent, Path(folder).parent.parent}:
            manifest = root / "manifest.json"
            if manifest.is_file():
                try:
                    for st in json.loads(manifest.read_text(encoding="utf-8")).get("stacks", []):
                        if st.get("phenotype"):
                            out[st["name"]] = st["phenotype"]
                except (json.JSONDecodeError, AttributeError):
                    pass
    return out


def parse_own_data(path) -> dict:
    """``{specimen: (train_map, test_map_or_None)}`` from ``--data``; raises DataError on bad input."""
    path = Path(path).expanduser()
    if not path.exists():
        raise DataError(f"--data {path}: no such file or folder.")
    if path.is_file():
        if path.suffix.lower() not in (".json", ".yaml", ".yml"):
            raise DataError(f"--data {path}: give a folder, or a .json/.yaml file mapping specimens to folders.")
        mapping = _read_mapping(path)
        unknown = sorted(set(mapping) - set(SPECIMEN_NAMES))
        if unknown:
            raise DataError(f"{path}: unknown specimen(s) {', '.join(reprlib.repr(u) for u in unknown)}; use "
                            f"{', '.join(SPECIMEN_NAMES)}.")
        return {sp: _split_sets(spec, path.parent, f"{path.name}:{sp}") for sp, spec in mapping.items()}
    specimen = _manifest_specimen(path)
    if specimen:
        if specimen not in SPECIMEN_NAMES:
            raise DataError(f"{path}: the manifest names specimen {reprlib.repr(specimen)}; expected one of "
                            f"{', '.join(SPECIMEN_NAMES)}.")
        return {specimen: _split_sets(path, path, str(path))}
    per_specimen = {sp: path / sp for sp in SPECIMEN_NAMES if (path / sp).is_dir()}
    if per_specimen:
        return {sp: _split_sets(folder, path, str(folder)) for sp, folder in per_specimen.items()}
    raise DataError(
        f"--data {path}: cannot tell which specimen this is. Give a folder written by 'lumicare simulate' "
        f"(with manifest.json), a folder with sub-folders {', '.join(SPECIMEN_NAMES)}, or a JSON/YAML "
        "file mapping specimens to condition folders (see 'lumicare reproduce --help').")


def _hold_out(names: list[str], phenotypes: dict) -> set:
    groups: dict = {}
    for name in sorted(names):
        groups.setdefault(phenotypes.get(name), []).append(name)
    test = set()
    for members in groups.values():
        if len(members) >= 2:
            test.update(members[-max(1, round(len(members) / 3)):])
    return test


def _link(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.symlink(src.resolve(), dst)
    except OSError:
        shutil.copy2(src, dst)


class OwnData:
    """The user's folders, linked into ``root`` in the simulator's layout (split when needed)."""

    description = "own data"

    def __init__(self, spec, root):
        self.spec = Path(spec)
        self.root = Path(root)
        self.parsed = parse_own_data(self.spec)
        self._cache: dict = {}

    def available(self, specimen: str) -> SpecimenData:
        if specimen not in self.parsed:
            return SpecimenData(specimen, set(), set(), f"own data ({self.spec})",
                                problem=f"--data {self.spec} has no {specimen} data")
        train, test = self.parsed[specimen]
        return SpecimenData(specimen, set(train), set(test if test is not None else train), f"own data ({self.spec})")

    def dataset(self, specimen: str) -> SpecimenData:
        if specimen in self._cache:
            return self._cache[specimen]
        data = self.available(specimen)
        if data.problem:
            raise DataError(data.problem)
        train, test = self.parsed[specimen]
        out = self.root / specimen
        if out.exists():
            shutil.rmtree(out)
        folders = list(train.values()) + list((test or {}).values())
        phenotypes = _manifest_phenotypes(folders)
        if test is None:
            names = sorted({p.stem for folder in train.values() for p in list_stacks(folder)})
            for n in names:
                phenotypes.setdefault(n, phenotype_of(n))
            held_out = _hold_out(names, phenotypes)
            if not held_out or len(held_out) == len(names):
                data.problem = (f"{specimen}: {len(names)} stack(s) found; at least 2 are needed (one to train, "
                                "one held out), or give train/ and test/ folders")
                raise DataError(data.problem)
            for cond, folder in train.items():
                for f in list_stacks(folder):
                    _link(f, out / ("test" if f.stem in held_out else "train") / cond / f"{f.stem}.tif")
        else:
            for split, conditions in (("train", train), ("test", test)):
                for cond, folder in conditions.items():
                    for f in list_stacks(folder):
                        _link(f, out / split / cond / f"{f.stem}.tif")
                        phenotypes.setdefault(f.stem, phenotype_of(f.stem))
        data.train_dir, data.test_dir, data.phenotypes = out / "train", out / "test", phenotypes
        self._cache[specimen] = data
        return data
