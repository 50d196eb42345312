"""Auto-thresholds (ij.process.AutoThresholder) and Convert to Mask."""


def auto_threshold(image, method, dark):
    raise NotImplementedError


def threshold_mask(image, method, dark):
    raise NotImplementedError
