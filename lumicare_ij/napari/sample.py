"""Sample data for napari: one small simulated H2B stack at 0.5 s and at 60 s (the demo's pair)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from ..simulate import simulate_dataset
from .reader import read_tiffs

#: The two conditions shown, in the order they are added.
CONDITIONS = ("lum_0.5s", "lum_60s")


def h2b_pair() -> list[tuple]:
    """Simulate one 16 x 128 x 128 H2B stack (seeded: the same every time) and return it at 0.5 s and 60 s."""
    with tempfile.TemporaryDirectory(prefix="lumicare-napari-") as tmp:
        simulate_dataset("h2b", tmp, n_stacks=1, small=True, progress=False)
        layers = []
        for condition in CONDITIONS:
            (data, meta, kind), = read_tiffs(next((Path(tmp) / condition).glob("*.tif")))
            meta["name"] = f"H2B {condition.removeprefix('lum_')}"
            layers.append((data, meta, kind))
    return layers
