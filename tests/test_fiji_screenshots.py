"""scripts/fiji_screenshots.py makes docs/fiji.md's pictures in the real ImageJ 1.53t under Xvfb."""

import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "scripts"))

import fiji_screenshots  # noqa: E402


@pytest.mark.imagej
def test_the_screenshot_script_captures_every_dialog_and_result(tmp_path):
    assert fiji_screenshots.main(["--out", str(tmp_path)]) == 0
    names = sorted(p.name for p in tmp_path.glob("*.png"))
    assert names == sorted(p.name for p in (REPO / "docs" / "images" / "fiji").glob("*.png"))
    for path in tmp_path.glob("*.png"):
        pixels = np.asarray(Image.open(path).convert("L"))
        # A captured window, not the empty (black) Xvfb screen around it.
        assert pixels.shape[0] > 100 and pixels.shape[1] > 100 and (pixels < 10).mean() < 0.3, path.name
