"""The SNR plugin's MAE and Coloc 2's masked Pearson."""

SOURCES = {"mask_mae": "unset", "masked_pearson": "unset"}


def mask_mae(reference_mask, test_mask):
    raise NotImplementedError


def masked_pearson(image_a, image_b, mask):
    raise NotImplementedError
