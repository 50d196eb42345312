"""Errors of the export subpackage, written for the person who has to act on them."""


class ExportError(ValueError):
    """A model that cannot be exported, or an export that cannot be written; says what to do."""


class TFJavaError(RuntimeError):
    """TensorFlow Java could not be set up or failed to run a model; carries Java's message."""
