"""Training batches: tf.data gathers the very batches csbdeep's data wrapper draws, and trains the same."""

import h5py
import numpy as np
import pytest

from lumicare_ij import care, feed
from lumicare_ij.errors import UserInputError

from . import synth


def _batches(X, Y, how, seed, n_batches):
    np.random.seed(seed)  # csbdeep's batch order comes from NumPy's global generator
    return [tuple(np.asarray(a) for a in batch) for batch in feed.training_batches(X, Y, 3, n_batches, how)]


def test_tf_data_feeds_csbdeeps_batches_in_csbdeeps_order():
    rng = np.random.default_rng(0)
    X = rng.random((7, 4, 8, 8, 1), dtype=np.float32)  # 7 patches, batches of 3: batches cross reshuffles
    Y = X + 1
    ours, theirs = _batches(X, Y, "tf.data", 5, 9), _batches(X, Y, "csbdeep", 5, 9)
    assert len(ours) == len(theirs) == 9
    for (x1, y1), (x2, y2) in zip(ours, theirs):
        np.testing.assert_array_equal(x1, x2)
        np.testing.assert_array_equal(y1, y2)
    assert not np.array_equal(ours[0][0], ours[3][0])  # shuffled, not one batch over and over


def test_auto_feed_follows_the_gpu_and_bad_names_are_refused():
    assert feed.resolve("auto", gpu_list=[]) == "csbdeep"
    assert feed.resolve("auto", gpu_list=[{"name": "H100", "compute_capability": (9, 0)}]) == "tf.data"
    assert feed.resolve("tf.data", gpu_list=[]) == "tf.data"
    with pytest.raises(UserInputError, match="choose from auto, csbdeep, tf.data"):
        feed.resolve("torch")


def test_training_through_tf_data_matches_csbdeeps_feed(data):
    root, npz = data
    runs = {how: care.train(npz, root / "models" / f"feed-{how}", epochs=2, progress=False, seed=3, feed=how,
                            **synth.TINY) for how in ("csbdeep", "tf.data")}
    assert runs["tf.data"]["feed"] == "tf.data" and runs["csbdeep"]["feed"] == "csbdeep"
    losses = {how: [h["loss"] for h in run["history"]] for how, run in runs.items()}
    np.testing.assert_allclose(losses["tf.data"], losses["csbdeep"], rtol=1e-5)
    with h5py.File(root / "models" / "feed-csbdeep" / "weights_last.h5") as a, \
            h5py.File(root / "models" / "feed-tf.data" / "weights_last.h5") as b:
        weights = [_datasets(a), _datasets(b)]  # in file order (layer names differ: conv3d_1, ...)
        assert weights[0] and len(weights[0]) == len(weights[1])
        for w1, w2 in zip(*weights):
            np.testing.assert_allclose(w1, w2, rtol=1e-5, atol=1e-6)


def _datasets(h5):
    found = []
    h5.visititems(lambda name, obj: found.append(obj[()]) if isinstance(obj, h5py.Dataset) else None)
    return found
