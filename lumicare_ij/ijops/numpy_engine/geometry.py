"""Bin, nearest-neighbour resize, Z max projection and 16-bit conversion."""


def bin(image, xy, z, method):
    raise NotImplementedError


def upsample_nearest(image, shape):
    raise NotImplementedError


def max_project(stack):
    raise NotImplementedError


def convert_to_16bit(image, display_range):
    raise NotImplementedError
