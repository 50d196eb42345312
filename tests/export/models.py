"""Tiny csbdeep CARE model folders with seeded random weights, made on the fly.

Random (not trained) weights are enough to prove the export: every kernel and
bias takes part in the output, biases included (csbdeep initialises them to 0,
which would hide a missing BiasAdd), and training would only cost time.
"""

from __future__ import annotations

import numpy as np


def make_care_model(basedir, name: str, axes: str = "YX", seed: int = 0, **config_kwargs):
    """Create ``basedir/name`` as csbdeep does, with random weights in weights_best.h5.

    Returns the csbdeep ``CARE`` object (its ``keras_model`` holds the same weights).
    """
    from csbdeep.models import CARE, Config

    config_kwargs.setdefault("unet_n_first", 4)
    config = Config(axes, train_tensorboard=False, **config_kwargs)
    care = CARE(config, name, basedir=str(basedir))
    rng = np.random.default_rng(seed)
    weights = []
    for w in care.keras_model.get_weights():
        if w.ndim > 1:   # kernel: He-like scale keeps activations in a sane range
            fan_in = int(np.prod(w.shape[:-1]))
            weights.append(rng.normal(scale=np.sqrt(2.0 / fan_in), size=w.shape))
        else:            # bias
            weights.append(rng.normal(scale=0.1, size=w.shape))
    care.keras_model.set_weights([w.astype(np.float32) for w in weights])
    care.keras_model.save_weights(str(care.logdir / "weights_best.h5"))
    return care


def network_inputs(care, shapes_in_blocks, seed: int = 0) -> list[np.ndarray]:
    """Inputs (N, [Z,] Y, X, C) whose spatial sizes are the given multiples of 2**depth."""
    block = 2 ** care.config.unet_n_depth
    rng = np.random.default_rng(seed)
    arrays = []
    for n, *blocks in shapes_in_blocks:
        shape = (n, *(b * block for b in blocks), care.config.n_channel_in)
        arrays.append(rng.normal(size=shape).astype(np.float32))
    return arrays
