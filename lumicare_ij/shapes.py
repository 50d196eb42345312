"""Sizes given per axis, such as ``16,64,64``: one parser for patch sizes, stack sizes and tiles."""

from __future__ import annotations

import numbers

from .errors import UserInputError


def parse_sizes(value, what: str, n_axes: int = 3, axes: str = "Z,Y,X", example: str = "16,64,64") -> tuple[int, ...]:
    """Whole numbers >= 1, one per axis, from ``"16,64,64"``, ``"16x64x64"`` or a sequence.

    Parameters
    ----------
    value : str or sequence of int
        The sizes, Z first.
    what : str
        The name shown in messages (``"patch_size"``, ``"--tiles"``).
    n_axes : int
        How many numbers are expected.
    axes, example : str
        Shown in the message that says what to give.

    Raises
    ------
    UserInputError
        Not ``n_axes`` whole numbers >= 1.
    """
    wanted = f"{what} takes {n_axes} whole numbers >= 1 ({axes}) such as {example}; got {value!r}"
    if isinstance(value, str):
        parts = value.lower().replace("x", ",").split(",")
        try:
            value = [int(p) for p in parts]
        except ValueError:
            raise UserInputError(wanted) from None
    try:
        sizes = tuple(value)
    except TypeError:
        raise UserInputError(wanted) from None
    if len(sizes) != n_axes or not all(_whole(s) and s >= 1 for s in sizes):
        raise UserInputError(wanted)
    return tuple(int(s) for s in sizes)


def _whole(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool) or (
        isinstance(value, float) and value.is_integer())


__all__ = ["parse_sizes"]
