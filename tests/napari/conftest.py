"""The napari tests' process: no TensorFlow here, ever; what needs it runs in a child Python."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]


def fresh_python(code: str, folder: Path) -> None:
    """Run ``code`` in a new Python (the repository on its path, ``folder`` as FOLDER); fail with its output."""
    program = f"import sys\nsys.path.insert(0, {str(REPO)!r})\nfrom pathlib import Path\nFOLDER = Path({str(folder)!r})\n"
    done = subprocess.run([sys.executable, "-c", program + textwrap.dedent(code)], capture_output=True, text=True,
                          timeout=900)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]


def care_predict(model: Path, image: np.ndarray, folder: Path, tiles=None, return_scale=False):
    """``lumicare_ij.care.predict`` of ``image``, computed in a child Python."""
    folder.mkdir(parents=True, exist_ok=True)
    np.save(folder / "image.npy", image)
    fresh_python(f"""
        import numpy as np
        from lumicare_ij import care
        out = care.predict({str(model)!r}, np.load(FOLDER / "image.npy"), tiles={tiles!r}, return_scale={return_scale!r})
        for i, a in enumerate(out if {return_scale!r} else [out]):
            np.save(FOLDER / f"out{{i}}.npy", a)
        """, folder)
    outs = [np.load(folder / f"out{i}.npy") for i in range(2 if return_scale else 1)]
    return tuple(outs) if return_scale else outs[0]


def fiji_predict(archive: Path, image: np.ndarray, folder: Path) -> np.ndarray:
    """``predict_like_fiji`` of an exported ZIP, computed in a child Python."""
    folder.mkdir(parents=True, exist_ok=True)
    np.save(folder / "image.npy", image)
    fresh_python(f"""
        import numpy as np
        from lumicare_ij.export import predict_like_fiji
        np.save(FOLDER / "out.npy", predict_like_fiji({str(archive)!r}, np.load(FOLDER / "image.npy")))
        """, folder)
    return np.load(folder / "out.npy")


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    """A one-epoch probabilistic model and its exported Fiji ZIP (``model.zip`` next to it), trained in a child."""
    root = tmp_path_factory.mktemp("napari-model")
    fresh_python("""
        from tests.care import synth
        from lumicare_ij.export import export_csbdeep_fiji
        model = synth.train_tiny_model(FOLDER, probabilistic=True)
        export_csbdeep_fiji(model, FOLDER / "model.zip")
        """, root)
    return root / "model"


@pytest.fixture(autouse=True)
def _no_tensorflow_in_the_viewers_process():
    yield
    assert "tensorflow" not in sys.modules, "TensorFlow was imported into napari's process (it crashes with GL)"
