"""Subtract Background with the rolling ball."""


def subtract_background(image, radius, light_background, smoothing):
    raise NotImplementedError
