"""Self-supervised blind-spot training (Noise2Void): masking of noisy patches and the loss on masked pixels.

Noise2Void (Krull et al., CVPR 2019) trains a network to predict each pixel
from its neighbours only: in every training batch a few percent of the
pixels of each patch are *masked*, their input values replaced by those of
random neighbours, and the loss compares the network's output with the
original noisy values at those pixels only. Because the noise is
independent from pixel to pixel and has the signal as its mean, the best
such prediction is the signal. N2V2 (Höck et al., ECCV workshops 2022)
replaces a masked pixel by the median of its neighbourhood instead, which
(with architectural changes not made here) removes N2V's checkerboard
artefacts; the ``median`` strategy offers that replacement.

The masking is drawn anew for every batch from a generator seeded with the
training seed and the batch's number, so a resumed training sees the masks
an uninterrupted one sees. Written from the papers' descriptions; no code
from the n2v or CAREamics packages.

Where the assumption holds for luminescence on an EMCCD, and where it breaks:
shot noise, gamma-distributed electron multiplication, clock-induced charge
and read noise are independent from pixel to pixel, and their mean is the
signal once the camera offset is subtracted. Binning *on the chip* keeps
that (charge is summed before it is read). It breaks for images binned in
software and stretched back to full size (the upsample regime's inputs:
neighbouring pixels are copies of one another, so a masked pixel can be
read off its neighbours' noise), for vertical smear from charge transfer
(pixels correlated along a column), and for a wrong offset (the mean of a
pixel is then signal plus a constant, which the network learns too).
"""

from __future__ import annotations

import numpy as np

from .errors import UserInputError

#: Fraction of pixels masked per patch (N2V's default is 0.198 % in 2D with 64x64 patches; more in 3D).
MASKED_FRACTION = 0.02
#: Half-width of the neighbourhood a replacement value comes from (a 5x5(x5) window without its centre).
NEIGHBOURHOOD_RADIUS = 2
STRATEGIES = ("uniform", "median")
#: The second number of the validation masks' seed (training batches use 0, 1, 2, ...).
VALIDATION_STREAM = 2**31


def describe(regime: str = "n2v", fraction: float = MASKED_FRACTION) -> dict:
    """How a blind-spot training masked its batches and which network it trained, for the model record."""
    n2v2 = regime == "n2v2"
    return {"method": "N2V2 (blind-spot, self-supervised)" if n2v2 else "Noise2Void (blind-spot, self-supervised)",
            "network": "n2v2" if n2v2 else "care", "masked_fraction": fraction,
            "mask_sampling": "one random pixel per grid box", "replacement": "median" if n2v2 else "uniform",
            "neighbourhood_radius_px": NEIGHBOURHOOD_RADIUS, "loss": "mean squared error over masked pixels",
            "masks_seeded_by": "(training seed, batch number)"}


def blind_spot_mask(shape, fraction: float = MASKED_FRACTION, rng=None) -> np.ndarray:
    """Boolean mask of the pixels to hide in one patch: one random pixel per grid box (stratified).

    Parameters
    ----------
    shape : tuple of int
        The patch's spatial shape ((Z,) Y, X).
    fraction : float
        Target fraction of masked pixels, 0 < fraction <= 0.5. The boxes
        have ``round(fraction ** (-1 / ndim))`` pixels per side, so the
        fraction met is that of whole boxes (reported by the mask's mean).
    rng : numpy Generator, optional

    Returns
    -------
    bool array of ``shape``
    """
    if not 0 < fraction <= 0.5:
        raise UserInputError(f"the masked fraction must be in (0, 0.5], got {fraction!r}")
    rng = np.random.default_rng(rng)
    side = max(1, int(round(fraction ** (-1.0 / len(shape)))))
    mask = np.zeros(shape, bool)
    grids = [np.arange(0, n, side) for n in shape]
    starts = np.stack(np.meshgrid(*grids, indexing="ij"), -1).reshape(-1, len(shape))
    offsets = rng.integers(0, side, size=starts.shape)
    points = np.minimum(starts + offsets, np.array(shape) - 1)
    mask[tuple(points.T)] = True
    return mask


def replace_masked(patch: np.ndarray, mask: np.ndarray, rng=None, strategy: str = "uniform",
                   radius: int = NEIGHBOURHOOD_RADIUS) -> np.ndarray:
    """A copy of ``patch`` whose masked pixels hold a neighbour's value (never their own).

    ``uniform`` (N2V): a random pixel of the window of half-width ``radius``
    around it, the centre excluded. ``median`` (N2V2): the median of that
    window without its centre. At the patch's edges the window is the part inside the patch.
    """
    if strategy not in STRATEGIES:
        raise UserInputError(f"unknown replacement {strategy!r}; choose one of {', '.join(STRATEGIES)}")
    rng = np.random.default_rng(rng)
    out = patch.copy()
    points = np.argwhere(mask)
    if len(points) == 0:
        return out
    shape = np.array(patch.shape)
    if strategy == "uniform":
        sources = np.empty_like(points)
        todo = np.ones(len(points), bool)
        while todo.any():  # redraw a neighbour that is the centre itself or outside the patch
            candidates = points[todo] + rng.integers(-radius, radius + 1, size=(int(todo.sum()), points.shape[1]))
            good = (candidates != points[todo]).any(axis=1) & ((candidates >= 0) & (candidates < shape)).all(axis=1)
            index = np.flatnonzero(todo)[good]
            sources[index] = candidates[good]
            todo[index] = False
        out[tuple(points.T)] = patch[tuple(sources.T)]
        return out
    window = np.stack(np.meshgrid(*[np.arange(-radius, radius + 1)] * patch.ndim, indexing="ij"), -1)
    window = window.reshape(-1, patch.ndim)
    window = window[window.any(axis=1)]  # without the centre
    for p in points:
        neighbours = p + window
        neighbours = neighbours[((neighbours >= 0) & (neighbours < shape)).all(axis=1)]  # the window inside the patch
        out[tuple(p)] = np.median(patch[tuple(neighbours.T)])
    return out


def masked_batch(X: np.ndarray, rng, fraction: float = MASKED_FRACTION, strategy: str = "uniform"):
    """A training batch for blind-spot training from noisy patches ``X`` (N, (Z,) Y, X, C).

    Returns
    -------
    inputs : array like ``X``
        Each patch with its masked pixels replaced (per channel).
    targets : array (N, ..., 2C)
        The original patches, then the masks (1.0 where masked) as further
        channels: what :func:`n2v_loss` reads.
    """
    X = np.asarray(X, np.float32)
    inputs = X.copy()
    masks = np.zeros_like(X)
    for i in range(X.shape[0]):
        for c in range(X.shape[-1]):
            mask = blind_spot_mask(X.shape[1:-1], fraction, rng)
            inputs[i, ..., c] = replace_masked(X[i, ..., c], mask, rng, strategy)
            masks[i, ..., c] = mask
    return inputs, np.concatenate([X, masks], axis=-1)


def n2v_loss(y_true, y_pred):
    """Mean squared error over the masked pixels only (Keras loss; ``y_true`` from :func:`masked_batch`)."""
    from keras import ops

    n = ops.shape(y_pred)[-1]
    target, mask = y_true[..., :n], y_true[..., n:]
    squared = ops.square(target - ops.cast(y_pred, target.dtype)) * mask
    return ops.sum(squared) / ops.maximum(ops.sum(mask), 1.0)


def masked_batches(batches, seed: int, first_batch: int = 0, fraction: float = MASKED_FRACTION,
                   strategy: str = "uniform"):
    """Mask each (X, Y) batch of ``batches``; batch ``k`` uses a generator seeded by (seed, k)."""
    for k, (x, _) in enumerate(batches, start=first_batch):
        yield masked_batch(x, np.random.default_rng([seed, k]), fraction, strategy)


# --------------------------------------------------------------------------
# N2V2's network: blur-pool down-sampling, no skip connection at full resolution
# --------------------------------------------------------------------------

#: The regimes trained by blind-spot masking, and the one with N2V2's network and median replacement.
BLIND_SPOT_REGIMES = ("n2v", "n2v2")


def binomial_kernel(n_dim: int) -> np.ndarray:
    """The normalised [1, 2, 1] x ... blur of blur-pool (sums to 1)."""
    k = np.array([1.0, 2.0, 1.0])
    kernel = k
    for _ in range(n_dim - 1):
        kernel = np.multiply.outer(kernel, k)
    return (kernel / kernel.sum()).astype(np.float32)


def _max_blur_pool(layer, n_dim: int, channels: int, name: str):
    """Max over 2 (stride 1), fixed binomial blur, then every second pixel: Zhang's MaxBlurPool, from plain
    Keras layers (a frozen convolution, pooling with stride) so that the TF 1.x export needs no new op."""
    from keras import layers

    pool = layers.MaxPooling2D if n_dim == 2 else layers.MaxPooling3D
    conv = layers.Conv2D if n_dim == 2 else layers.Conv3D
    layer = pool(2, strides=1, padding="same", name=f"{name}_max")(layer)
    blur = conv(channels, 3, padding="same", use_bias=False, trainable=False, name=f"{name}_blur")
    layer = blur(layer)
    kernel = np.zeros((3,) * n_dim + (channels, channels), np.float32)
    for c in range(channels):
        kernel[..., c, c] = binomial_kernel(n_dim)
    blur.set_weights([kernel])
    return pool(1, strides=2, name=f"{name}_subsample")(layer)


def n2v2_unet(n_dim: int, n_depth: int, kern_size: int, n_first: int, n_channel_out: int = 1,
              last_activation: str = "linear", n_conv_per_depth: int = 2):
    """N2V2's U-Net (Höck et al. 2022): csbdeep's CARE U-Net with max-blur-pool instead of max-pool and no
    skip connection at the top level; no residual input. Returns a function of the input shape."""
    from keras import Input, Model, layers

    conv = layers.Conv2D if n_dim == 2 else layers.Conv3D
    up = layers.UpSampling2D if n_dim == 2 else layers.UpSampling3D
    kernel = (kern_size,) * n_dim

    def build(input_shape):
        inputs = Input(input_shape, name="input")
        layer, skips = inputs, []
        for n in range(n_depth):
            for i in range(n_conv_per_depth):
                layer = conv(n_first * 2 ** n, kernel, padding="same", activation="relu",
                             name=f"down_level_{n}_no_{i}")(layer)
            skips.append(layer)
            layer = _max_blur_pool(layer, n_dim, n_first * 2 ** n, f"blurpool_{n}")
        for i in range(n_conv_per_depth - 1):
            layer = conv(n_first * 2 ** n_depth, kernel, padding="same", activation="relu", name=f"middle_{i}")(layer)
        layer = conv(n_first * 2 ** max(0, n_depth - 1), kernel, padding="same", activation="relu",
                     name=f"middle_{n_conv_per_depth}")(layer)
        for n in reversed(range(n_depth)):
            layer = up(2)(layer)
            if n > 0:  # N2V2: the full-resolution level gets no skip (it carries the checkerboard)
                layer = layers.Concatenate(axis=-1)([layer, skips[n]])
            for i in range(n_conv_per_depth - 1):
                layer = conv(n_first * 2 ** n, kernel, padding="same", activation="relu",
                             name=f"up_level_{n}_no_{i}")(layer)
            layer = conv(n_first * 2 ** max(0, n - 1), kernel, padding="same", activation="relu",
                         name=f"up_level_{n}_no_{n_conv_per_depth}")(layer)
        out = conv(n_channel_out, (1,) * n_dim, activation="linear", name="output")(layer)
        out = layers.Activation(last_activation)(out)
        return Model(inputs=inputs, outputs=out)

    return build


def care_class(network: str):
    """csbdeep's CARE for ``network`` "care" (csbdeep's U-Net), or a CARE that builds :func:`n2v2_unet`."""
    from csbdeep.models import CARE

    if network == "care":
        return CARE
    if network != "n2v2":
        raise UserInputError(f"unknown network {network!r}; a model record names 'care' or 'n2v2'")

    class N2V2CARE(CARE):
        def _build(self):
            c = self.config
            return n2v2_unet(c.n_dim, c.unet_n_depth, c.unet_kern_size, c.unet_n_first, c.n_channel_out,
                             c.unet_last_activation)(c.unet_input_shape)

    return N2V2CARE


def network_of(model_dir) -> str:
    """The network a model folder's record names ("n2v2" for N2V2 training, else csbdeep's "care")."""
    import json
    from pathlib import Path

    record = Path(model_dir) / "lumicare.json"
    try:
        return (json.loads(record.read_text(encoding="utf-8")).get("n2v") or {}).get("network", "care")
    except (OSError, ValueError, AttributeError):
        return "care"
