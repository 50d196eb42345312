"""Shared by the CARE tests: a tiny training file from two synthetic stack pairs (one per test module)."""

import pytest

from . import synth


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """(root, npz): ROOT/data in synth's layout (SHAPE stacks) and its denoise training file."""
    root = tmp_path_factory.mktemp("care")
    synth.write_dataset(root / "data", n_stacks=2, shape=synth.SHAPE)
    npz = root / "train.npz"
    synth.prepare_tiny(root / "data", npz)
    return root, npz
