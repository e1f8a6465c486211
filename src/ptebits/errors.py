"""The exceptions ptebits raises.

Every one derives from :class:`Error` and from the builtin that matches it,
so ``except ptebits.Error`` and ``except ValueError`` both work.
"""
from __future__ import annotations

from typing import Optional


class Error(Exception):
    """Base of every exception raised by ptebits."""


class InvalidTypeError(Error, TypeError):
    """An argument of the wrong type, dtype, byte order, shape or layout."""


class InvalidValueError(Error, ValueError):
    """An argument with a wrong value: negative, too large, unknown name."""


class FieldRangeError(InvalidValueError):
    """A field cannot be encoded: out of range, absent from the profile, or
    the result would read back as another kind of entry.

    ``field``, ``value`` and ``limit`` (an exclusive upper bound, where one
    applies) say which; ``index`` is the first offending element of an array.
    """

    def __init__(self, message: str, *, field: str, value: object = None,
                 limit: Optional[int] = None, index: Optional[int] = None):
        super().__init__(message)
        self.field = field
        self.value = value
        self.limit = limit
        self.index = index


class UnknownProfileError(InvalidValueError):
    """A profile name or knob ptebits does not know."""


class UnsupportedKernelError(InvalidValueError):
    """The running kernel's layout is not one ptebits knows (``host``)."""


class DumpFormatError(InvalidValueError):
    """Input data that cannot be parsed: a size that is not a multiple of 8,
    a bad hex line (``path`` and ``line`` say where)."""

    def __init__(self, message: str, *, path: Optional[str] = None,
                 line: Optional[int] = None):
        super().__init__(message)
        self.path = path
        self.line = line


class FileError(Error, OSError):
    """A file or process that cannot be read: missing, unreadable, gone."""


class ScenarioError(InvalidValueError):
    """A scenario file that cannot run: bad JSON, an unknown key, a page out
    of range, an op that cannot apply to the memory kind or registration.
    ``step`` (1-based, None for the file's top level) and ``field`` say where;
    ``line`` is set for JSON syntax errors."""

    def __init__(self, message: str, *, step: Optional[int] = None,
                 field: Optional[str] = None, line: Optional[int] = None):
        super().__init__(message)
        self.step = step
        self.field = field
        self.line = line


class LiveUnavailable(UnsupportedKernelError):
    """The live kernel runner cannot run here: not root, no userfaultfd, a
    feature the kernel lacks, or no swap for a ``pageout`` step."""
