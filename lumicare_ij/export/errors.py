"""Errors of the export subpackage, written for the person who has to act on them."""

from ..errors import LumicareError, UserInputError


class ExportError(UserInputError):
    """A model that cannot be exported, or an export that cannot be written; says what to do."""


class TFJavaError(LumicareError, RuntimeError):
    """TensorFlow Java could not be set up or failed to run a model; carries Java's message."""
