"""Analyze Particles: size-filtered masks and shape measurements."""


def particle_mask(mask, min_size, max_size, include_holes):
    raise NotImplementedError


def measure_particles(mask, min_size, max_size):
    raise NotImplementedError
