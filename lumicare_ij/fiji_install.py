"""Put the package's macros and Fiji scripts into the menus of a Fiji.app or an ImageJ 1.x folder.

``lumicare fiji install --fiji DIR`` copies them under Plugins > LumiCARE:

* a **Fiji.app** (it has ``jars/ij-*.jar``): into ``scripts/Plugins/LumiCARE/``,
  Fiji's folder for scripts shown in the Plugins menu; the macros and both
  Groovy scripts are installed.
* a **plain ImageJ 1.x** folder (it has ``ij.jar``): into ``plugins/LumiCARE/``.
  ImageJ 1.x makes a command of every macro in a plugins subfolder whose name
  holds an underscore (``Mask_MAE.ijm`` becomes "Mask MAE"); it cannot run
  Groovy without Fiji, so only the macros are installed.

A manifest (``.lumicare-install.json`` in the LumiCARE folder) lists every
installed file with its SHA-256, so that a rerun is idempotent, an upgrade
replaces only files the user has not changed, and ``--uninstall`` removes
exactly what was installed. A file that the user changed, or one of the same
name that lumicare-ij did not install, is never replaced or removed without
``force=True`` (``--force``); nothing is written when any file would be.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from .atomic import atomic_write_bytes, atomic_write_text
from .errors import InputNotFoundError, UserInputError
from .provenance import package_version

#: Installed file name (the menu command, underscores shown as spaces) -> source in the package.
MACROS = {
    "Bin_and_Upsample.ijm": "ijm/bin_and_upsample.ijm",
    "Mask_MAE.ijm": "ijm/mask_mae.ijm",
    "Nuclear_Pearson.ijm": "ijm/nuclear_pearson.ijm",
    "Mito_Morphology.ijm": "ijm/mito_morphology.ijm",
}
#: Groovy scripts: Fiji only (ImageJ 1.x has no Groovy).
FIJI_SCRIPTS = {
    "Restore_Folder_with_CARE.groovy": "fiji_scripts/restore_folder.groovy",
    "Paper_Analysis.groovy": "fiji_scripts/paper_analysis.groovy",
}
MENU = "LumiCARE"
MANIFEST = ".lumicare-install.json"


@dataclass
class Layout:
    """Where the files go in one application folder."""

    kind: str            # "fiji" or "imagej"
    root: Path           # the Fiji.app or ImageJ folder
    folder: Path         # the LumiCARE menu folder inside it
    files: dict          # installed name -> package source

    @property
    def manifest(self) -> Path:
        return self.folder / MANIFEST


@dataclass
class Report:
    """What one install or uninstall did, file by file (names relative to the LumiCARE folder)."""

    layout: Layout
    written: list = field(default_factory=list)
    unchanged: list = field(default_factory=list)
    removed: list = field(default_factory=list)


def menu_command(file_name: str) -> str:
    """The menu command ImageJ makes of an installed file: ``Mask_MAE.ijm`` -> ``Mask MAE``."""
    return Path(file_name).stem.replace("_", " ")


def find_layout(app_dir) -> Layout:
    """Tell a Fiji.app from an ImageJ 1.x folder; a clear error for anything else."""
    root = Path(app_dir).expanduser()
    if not root.is_dir():
        raise InputNotFoundError(f"--fiji {root}: no such folder. Give the Fiji.app folder (the one holding "
                                 "jars/ and scripts/) or an ImageJ 1.x folder (the one holding ij.jar).")
    root = root.resolve()
    if any((root / "jars").glob("ij-*.jar")):
        return Layout("fiji", root, root / "scripts" / "Plugins" / MENU, {**MACROS, **FIJI_SCRIPTS})
    if (root / "ij.jar").is_file():
        return Layout("imagej", root, root / "plugins" / MENU, dict(MACROS))
    raise UserInputError(f"--fiji {root} is neither a Fiji.app (no jars/ij-*.jar) nor an ImageJ 1.x folder "
                         "(no ij.jar). Give the folder that holds Fiji's jars/ folder, or ImageJ's ij.jar.")


def _source_bytes(source: str) -> bytes:
    return resources.files("lumicare_ij").joinpath(source).read_bytes()


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _read_manifest(layout: Layout) -> dict:
    """The installed files' hashes from an earlier install ({} if none)."""
    try:
        record = json.loads(layout.manifest.read_text(encoding="utf-8"))
        return dict(record["files"])
    except FileNotFoundError:
        return {}
    except (ValueError, KeyError, TypeError) as err:
        raise UserInputError(f"{layout.manifest} is damaged ({err}); remove it and the files next to it by "
                             "hand, or run 'lumicare fiji install --force' to install afresh.") from None


def _is_ours(path: Path, installed_sha: str | None) -> bool:
    """True if ``path`` is absent or still holds what lumicare-ij put there."""
    return not path.exists() or (installed_sha is not None and _sha256(path.read_bytes()) == installed_sha)


def _refuse(conflicts: list, layout: Layout, action: str) -> None:
    if conflicts:
        raise UserInputError(
            f"{len(conflicts)} file(s) in {layout.folder} were changed since lumicare-ij installed them, or were "
            f"not installed by it: {', '.join(conflicts)}. Nothing was {action}. Move them away to keep them, or "
            f"add --force to {'replace' if action == 'installed' else 'remove'} them.")


def install(app_dir, force: bool = False) -> Report:
    """Copy the macros (and, into Fiji, the Groovy scripts) under Plugins > LumiCARE.

    Parameters
    ----------
    app_dir : path
        A Fiji.app folder or a plain ImageJ 1.x folder.
    force : bool
        Replace files that the user changed, or that lumicare-ij did not install.

    Returns
    -------
    Report
        ``written`` and ``unchanged`` list the installed file names.
    """
    layout = find_layout(app_dir)
    earlier = _read_manifest(layout)
    wanted = {name: _source_bytes(source) for name, source in layout.files.items()}
    stale = [name for name in earlier if name not in wanted]  # shipped by an older version, not now
    report = Report(layout)
    conflicts = [name for name, data in wanted.items()
                 if not _is_ours(layout.folder / name, earlier.get(name))
                 and _sha256((layout.folder / name).read_bytes()) != _sha256(data)]
    conflicts += [name for name in stale if not _is_ours(layout.folder / name, earlier[name])]
    if not force:
        _refuse(conflicts, layout, "installed")
    for name, data in wanted.items():
        target = layout.folder / name
        if target.is_file() and target.read_bytes() == data:
            report.unchanged.append(name)
        else:
            atomic_write_bytes(target, data, overwrite=True)
            report.written.append(name)
    for name in stale:
        (layout.folder / name).unlink(missing_ok=True)
        report.removed.append(name)
    record = {"installed_by": f"lumicare-ij {package_version()}", "layout": layout.kind,
              "files": {name: _sha256(data) for name, data in wanted.items()}}
    atomic_write_text(layout.manifest, json.dumps(record, indent=2) + "\n", overwrite=True)
    return report


def uninstall(app_dir, force: bool = False) -> Report:
    """Remove exactly the files an earlier :func:`install` put there (changed ones only with ``force``)."""
    layout = find_layout(app_dir)
    earlier = _read_manifest(layout)
    if not earlier:
        raise UserInputError(f"lumicare-ij has installed nothing in {layout.root} (no {layout.manifest}); "
                             "nothing to uninstall.")
    changed = [name for name, sha in earlier.items() if not _is_ours(layout.folder / name, sha)]
    if not force:
        _refuse(changed, layout, "removed")
    report = Report(layout)
    for name in earlier:
        path = layout.folder / name
        if path.exists():
            path.unlink()
            report.removed.append(name)
    layout.manifest.unlink()
    if layout.folder.is_dir() and not any(layout.folder.iterdir()):
        layout.folder.rmdir()  # only if empty: whatever else the user keeps there stays
    return report


def describe(report: Report, uninstalling: bool = False) -> str:
    """The lines ``lumicare fiji`` prints: what changed, and how to see it in the application."""
    layout = report.layout
    app = "Fiji" if layout.kind == "fiji" else "ImageJ"
    if uninstalling:
        lines = [f"Removed {len(report.removed)} file(s) from {layout.folder}."]
        return "\n".join(lines + [f"Restart {app} (or Help > Refresh Menus) to drop Plugins > {MENU}."])
    lines = [f"Installed into {layout.folder} ({app}): {len(report.written)} written, "
             f"{len(report.unchanged)} already up to date" + (f", {len(report.removed)} outdated removed"
                                                              if report.removed else "") + "."]
    lines += [f"  Plugins > {MENU} > {menu_command(name)}" for name in sorted(layout.files)]
    if layout.kind == "imagej":
        lines.append("The two Groovy scripts need Fiji and were not installed into plain ImageJ.")
    lines.append(f"Restart {app} (or Help > Refresh Menus) to see the commands.")
    return "\n".join(lines)
