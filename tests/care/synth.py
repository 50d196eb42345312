"""Small synthetic luminescence datasets for the CARE tests (no simulator needed).

Smooth blobs (cells) imaged with shot noise at two exposures: a short one
with a handful of photons per pixel and a long one with many, in csbdeep's
folder layout DATA/<condition>/<name>.tif.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy import ndimage

from lumicare_ij import training
from lumicare_ij.io import write_stack


#: The CARE tests' stack shape and a network small enough to train in seconds (quality: test_quality.py);
#: probabilistic, to test the mean and scale outputs.
SHAPE = (8, 32, 32)
TINY = dict(unet_n_first=4, train_steps_per_epoch=2, train_batch_size=4, probabilistic=True)


def blobs(shape=(16, 64, 64), n_blobs=6, sigma=(1.5, 4.0, 4.0), seed=0) -> np.ndarray:
    """Noise-free specimen: Gaussian-smoothed random points, max 1, background 0.02."""
    rng = np.random.default_rng(seed)
    img = np.zeros(shape, np.float64)
    for _ in range(n_blobs):
        z = rng.integers(2, shape[0] - 2)
        y, x = rng.integers(4, shape[1] - 4), rng.integers(4, shape[2] - 4)
        img[z, y, x] = rng.uniform(0.5, 1.0)
    img = ndimage.gaussian_filter(img, sigma)
    img /= img.max()
    return img + 0.02


def poisson(signal, photons, rng) -> np.ndarray:
    """Shot-noise-limited camera image in counts (uint16) with a dark offset of 100."""
    return (rng.poisson(signal * photons) + 100).astype(np.uint16)


def write_dataset(root, n_stacks=3, shape=(16, 64, 64), short_photons=4.0, long_photons=400.0, seed=0,
                  pixel_size_um=0.65, z_step_um=0.57, binned_short: int | None = None) -> dict:
    """Write DATA/short, DATA/long, DATA/short_b (a second short repeat), DATA/fluo, DATA/gt.

    Returns the ground truths by name. ``binned_short`` also writes
    DATA/short_binned: chip-binned short exposures (sum over bins, as a camera does).
    """
    root = Path(root)
    rng = np.random.default_rng(seed)
    truths = {}
    for i in range(n_stacks):
        name = f"cell{i:02d}.tif"
        gt = blobs(shape, seed=seed * 100 + i)
        truths[name] = gt
        cal = {"pixel_size_um": pixel_size_um, "z_step_um": z_step_um}
        write_stack(root / "short" / name, poisson(gt, short_photons, rng),
                    metadata={"exposure_s": 0.5, "modality": "luminescence"}, **cal)
        write_stack(root / "short_b" / name, poisson(gt, short_photons, rng),
                    metadata={"exposure_s": 0.5, "modality": "luminescence"}, **cal)
        write_stack(root / "long" / name, poisson(gt, long_photons, rng),
                    metadata={"exposure_s": 60.0, "modality": "luminescence"}, **cal)
        write_stack(root / "fluo" / name, poisson(gt ** 0.8, 200.0, rng),
                    metadata={"exposure_s": 0.1, "modality": "fluorescence"}, **cal)
        write_stack(root / "gt" / name, gt.astype(np.float32), **cal)
        if binned_short:
            b = binned_short
            z, y, x = shape
            summed = gt[:, : y // b * b, : x // b * b].reshape(z, y // b, b, x // b, b).sum(axis=(2, 4))
            write_stack(root / "short_binned" / name, poisson(summed, short_photons, rng),
                        metadata={"exposure_s": 0.5, "binning": b}, pixel_size_um=pixel_size_um * b,
                        z_step_um=z_step_um)
    return truths


def prepare_tiny(data_dir, npz, seed=0, overwrite=False) -> dict:
    """The tests' small denoise training file (short -> long, 8x16x16 patches, 4 per augmented stack)."""
    return training.prepare_training_data(data_dir, "denoise", "short", "long", npz, preset="quick",
                                          patch_size=(8, 16, 16), n_patches_per_image=4, seed=seed,
                                          overwrite=overwrite, progress=False)


def train_tiny_model(root, name="model", **overrides) -> Path:
    """ROOT/data, ROOT/train.npz and a one-epoch tiny model ROOT/NAME (seed 0); returns the model folder."""
    from lumicare_ij import care

    root = Path(root)
    if not (root / "train.npz").is_file():
        write_dataset(root / "data", n_stacks=2, shape=(8, 32, 32))
        prepare_tiny(root / "data", root / "train.npz")
    care.train(root / "train.npz", root / name, epochs=1, progress=False, seed=0, **{**TINY, **overrides})
    return root / name
