"""The paper's readouts, composed from the operations in :mod:`lumicare_ij.ijops`.

The ImageJ steps (16-bit conversion, thresholds, particle filters, rolling
ball, projection) are tested equal to ImageJ 1.53t; the MAE and Pearson's R
are the SNR plugin's and Coloc 2's published formulas, not checked against
those Fiji plugins (see the README's table "What is verified").

Each function follows the paper's Online Methods ("Image analysis") step by
step; the engine argument chooses who computes each step (``"numpy"`` or the
real ``"imagej"``). Where the paper does not say how a 3D stack was handled,
the choice is a parameter with a documented default.

- :func:`mask_mae_between` - Figure 1: MAE between cell masks.
- :func:`nuclear_pearson` - Figure 2a: Pearson's R under nuclear masks.
- :func:`mito_morphology` - Figure 2b: per-image mean circularity and aspect ratio.
- :class:`PixelClassifier` - an ilastik-like pixel classifier for mitochondria.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import ijops
from .ijops import _checks


def _per_slice(stack: np.ndarray, fn) -> np.ndarray:
    return fn(stack) if stack.ndim == 2 else np.stack([fn(plane) for plane in stack])


def _project(image: np.ndarray, projection: str | None, engine: str) -> np.ndarray:
    if projection is None or image.ndim == 2:
        return image
    if projection != "max":
        raise _checks.InputError(f"projection must be None (every slice) or 'max'; got {projection!r}")
    return ijops.max_project(image, engine=engine)


def cell_mask(image, min_size_px: float = 100, *, projection: str | None = None,
              engine: str = "numpy") -> np.ndarray:
    """Figure 1's cell mask: 16-bit, "Mean dark" threshold, particles >= ``min_size_px``.

    Parameters
    ----------
    image : (Y, X) or (Z, Y, X) array
    min_size_px : float
        Analyze Particles' lower size limit (inclusive, as Fiji's "100-Infinity";
        the paper writes ">100 pixel").
    projection : None or "max"
        None (default): threshold every slice with its own Mean threshold,
        Fiji's "Calculate threshold for each image". "max": analyse the
        maximum projection instead.

    Returns
    -------
    uint8 mask, 255 inside cells.
    """
    img = _project(_checks.image(image, "image", ndims=(2, 3)), projection, engine)
    # The paper converted all images to 16-bit first; the whole-stack range is used.
    # A 16-bit image comes back unchanged (a copy) from that conversion in
    # both engines, so it is used as it is.
    img16 = img if img.dtype == np.uint16 else ijops.convert_to_16bit(img, engine=engine)
    mask = ijops.threshold_mask(img16, "Mean", dark=True, engine=engine)
    return ijops.particle_mask(mask, min_size=min_size_px, engine=engine)


def mask_mae_between(reference_image, test_image, min_size_px: float = 100, *,
                     projection: str | None = None, engine: str = "numpy") -> float:
    """Figure 1 metric: MAE between the cell masks of a reference and a test image.

    Both images go through :func:`cell_mask`; the MAE of the two masks by the
    SNR plugin's published formula (not checked against the plugin), with
    reference = ground truth, is returned, 0 (identical) to 255 (every
    pixel differs). The paper inverted both masks first, which does not change
    the MAE, so it is skipped.
    """
    ref = _checks.image(reference_image, "reference_image", ndims=(2, 3))
    test = _checks.image(test_image, "test_image", ndims=(2, 3))
    _checks.same_shape(ref, test, "reference_image", "test_image")
    ref_mask = cell_mask(ref, min_size_px, projection=projection, engine=engine)
    test_mask = cell_mask(test, min_size_px, projection=projection, engine=engine)
    return ijops.mask_mae(ref_mask, test_mask, engine=engine)


def nuclear_mask(ground_truth, min_size_px: float = 5, *, engine: str = "numpy") -> np.ndarray:
    """Figure 2a's nuclear mask: "Triangle dark" on the ground truth, particles >= ``min_size_px``.

    A stack is thresholded slice by slice (each slice its own threshold).
    The ground truth is thresholded as it is (no 16-bit conversion; the paper
    mentions none for this step).
    """
    gt = _checks.image(ground_truth, "ground_truth", ndims=(2, 3))
    mask = ijops.threshold_mask(gt, "Triangle", dark=True, engine=engine)
    return ijops.particle_mask(mask, min_size=min_size_px, engine=engine)


def nuclear_pearson(image, ground_truth, min_size_px: float = 5, *, engine: str = "numpy") -> float:
    """Figure 2a metric: Pearson's R of raw pixels under the ground truth's nuclear mask.

    Computed with Coloc 2's published "Fast" formula and its mask rule
    (mask > 0.001), by :func:`lumicare_ij.ijops.masked_pearson`; not checked
    against Coloc 2 itself (a Fiji plugin, not on Maven Central).

    Returns
    -------
    :class:`lumicare_ij.ijops.Measurement` (a float with ``.source``).
    """
    img = _checks.image(image, "image", ndims=(2, 3))
    gt = _checks.image(ground_truth, "ground_truth", ndims=(2, 3))
    _checks.same_shape(img, gt, "image", "ground_truth")
    mask = nuclear_mask(gt, min_size_px, engine=engine)
    if not mask.any():
        raise _checks.InputError("the ground truth gave an empty nuclear mask (no particle of "
                                 f">= {min_size_px} px after the Triangle threshold); check the image.")
    if engine == "numpy":
        # img and gt are uint8, uint16 or float32 (checked above), whose values
        # float32 holds exactly, and the numpy engine only uses each pixel's
        # value as a double: skipping the float32 copies changes no bit, and
        # 8/16-bit data take its exact integer-sum path.
        return ijops.masked_pearson(img, gt, mask, engine=engine)
    return ijops.masked_pearson(img.astype(np.float32), gt.astype(np.float32), mask, engine=engine)


@dataclass
class MitoMorphology:
    """Per-particle shape table and the per-image means that Figure 2b plots."""

    particles: dict
    mean_circularity: float
    mean_aspect_ratio: float
    n_particles: int
    mask: np.ndarray = field(repr=False)


def mito_morphology(stack, *, segmentation="Default", min_size_px: float = 20,
                    rolling_ball_radius_px: float = 5, engine: str = "numpy") -> MitoMorphology:
    """Figure 2b readout: mitochondrial shape from a (Z, Y, X) stack or a 2D image.

    Steps: maximum projection along Z; rolling-ball background subtraction
    (radius 5 px, Fiji's defaults); segmentation; particles > ``min_size_px``;
    mean circularity and aspect ratio of the particles.

    Parameters
    ----------
    segmentation : str or PixelClassifier
        An ImageJ auto-threshold method name ("Default" - IsoData variant -
        needs no annotation and is the default), or a trained
        :class:`PixelClassifier` (the paper used an ilastik classifier).
    min_size_px : float
        Particles smaller than this are ignored. The paper writes ">20 pixel";
        like Fiji's "20-Infinity" the limit is inclusive.
    """
    img = _checks.image(stack, "stack", ndims=(2, 3))
    projected = ijops.max_project(img, engine=engine) if img.ndim == 3 else img
    flat = ijops.subtract_background(projected, rolling_ball_radius_px, engine=engine)
    if isinstance(segmentation, PixelClassifier):
        mask = segmentation.predict_mask(flat)
    else:
        mask = ijops.threshold_mask(flat, segmentation, dark=True, engine=engine)
    table = ijops.measure_particles(mask, min_size=min_size_px, engine=engine)
    n = len(table["area"])
    mean = (lambda v: float(np.mean(v)) if n else float("nan"))
    kept = ijops.particle_mask(mask, min_size=min_size_px, engine=engine)
    return MitoMorphology(table, mean(table["circularity"]), mean(table["aspect_ratio"]), n, kept)


class PixelClassifier:
    """A pixel classifier in the manner of ilastik: multi-scale filters + random forest.

    Features are scikit-image's ``multiscale_basic_features`` (Gaussian
    intensity, edges and texture at sigmas 0.7-5 px, ilastik's default
    scales); the classifier is scikit-learn's RandomForestClassifier. Train on
    a few images with sparse annotations (0 = unlabelled, 1 = background,
    2 = object) or on ground-truth masks (:meth:`fit_masks`).
    """

    def __init__(self, sigma_min_px: float = 0.7, sigma_max_px: float = 5.0, n_estimators: int = 100,
                 random_state: int = 0):
        from sklearn.ensemble import RandomForestClassifier

        self.sigma_min_px, self.sigma_max_px = sigma_min_px, sigma_max_px
        self.forest = RandomForestClassifier(n_estimators=n_estimators, n_jobs=1,
                                             random_state=random_state, max_depth=20)

    def features(self, image: np.ndarray) -> np.ndarray:
        from skimage.feature import multiscale_basic_features

        img = np.asarray(image, dtype=np.float32)
        lo, hi = np.percentile(img, (1, 99.8))
        img = (img - lo) / (hi - lo if hi > lo else 1.0)
        return multiscale_basic_features(img, sigma_min=self.sigma_min_px, sigma_max=self.sigma_max_px)

    def fit(self, images, annotations) -> "PixelClassifier":
        """Train from 2D images and label images (0 unlabelled, 1 background, 2 object)."""
        xs, ys = [], []
        for image, labels in zip(images, annotations):
            labels = np.asarray(labels)
            if labels.shape != np.shape(image):
                raise _checks.InputError(f"annotation shape {labels.shape} differs from image shape "
                                         f"{np.shape(image)}")
            chosen = labels > 0
            xs.append(self.features(image)[chosen])
            ys.append(labels[chosen])
        y = np.concatenate(ys) if ys else np.array([])
        if not set(np.unique(y)) >= {1, 2}:
            raise _checks.InputError("annotations need both classes: 1 for background and 2 for objects.")
        self.forest.fit(np.concatenate(xs), y)
        return self

    def fit_masks(self, images, masks, n_pixels_per_image: int = 4000, seed: int = 0) -> "PixelClassifier":
        """Train from ground-truth masks by sampling pixels of both classes (sparse, like annotations)."""
        rng = np.random.default_rng(seed)
        annotations = []
        for mask in masks:
            labels = np.where(np.asarray(mask) > 0, 2, 1).ravel()
            keep = np.zeros(labels.size, bool)
            for cls in (1, 2):
                idx = np.flatnonzero(labels == cls)
                keep[rng.choice(idx, size=min(len(idx), n_pixels_per_image // 2), replace=False)] = True
            annotations.append(np.where(keep, labels, 0).reshape(np.shape(mask)))
        return self.fit(images, annotations)

    def predict_mask(self, image) -> np.ndarray:
        """uint8 mask (255 = object) of a 2D image."""
        feats = self.features(image)
        pred = self.forest.predict(feats.reshape(-1, feats.shape[-1])).reshape(np.shape(image))
        return np.where(pred == 2, 255, 0).astype(np.uint8)
