"""The one base class of every error a user can fix.

Every module raises a subclass of :class:`LumicareError` for bad input (a
file, an argument, a setting, a missing tool) with a message that says what
was expected, what was found and what to do. The ``lumicare`` command prints
that message as one line, never a traceback; Python callers can catch
``LumicareError`` to handle all of them at once. The subclasses also derive
from the built-in exception a caller would expect (``ValueError`` for bad
values, ``FileExistsError`` for an output that exists, ...), so code written
against those keeps working.

Anything else that escapes is a bug in this package, and is shown with its
traceback so that it can be reported.
"""

from __future__ import annotations


class LumicareError(Exception):
    """A mistake in the input or the set-up that the user can fix; the message says how."""


class UserInputError(LumicareError, ValueError):
    """A value the user gave (argument, setting, array) that cannot be used."""


class OutputExistsError(LumicareError, FileExistsError):
    """An output would replace a file the user made; nothing was written."""


class InputNotFoundError(LumicareError, FileNotFoundError):
    """A file or folder the user named does not exist."""


__all__ = ["LumicareError", "UserInputError", "OutputExistsError", "InputNotFoundError"]
