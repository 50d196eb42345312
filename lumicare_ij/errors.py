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


class SomeInputsFailed(LumicareError):
    """Some inputs of a many-stack run failed; the others were finished.

    ``results`` holds one entry per input (``status`` "done", "skipped" or
    "failed", with ``error`` for the failed ones); the message names every
    failed input with its own error. One failed input alone gives exactly
    its own message.
    """

    def __init__(self, results: list[dict], what: str = "stacks"):
        self.results = results
        self.failures = [r for r in results if r["status"] == "failed"]
        if len(self.failures) == 1 and len(results) == 1:
            message = self.failures[0]["error"]
        else:
            message = (f"{len(self.failures)} of {len(results)} {what} failed (the others are finished):\n"
                       + "\n".join(f"  {r['input']}: {r['error']}" for r in self.failures))
        super().__init__(message)

    @property
    def all_failed(self) -> bool:
        return len(self.failures) == len(self.results)


__all__ = ["LumicareError", "UserInputError", "OutputExistsError", "InputNotFoundError", "SomeInputsFailed"]
