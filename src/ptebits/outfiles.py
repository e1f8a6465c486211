"""Output files written atomically: to a temporary name in the same
directory, renamed into place only when the writer finishes, so an
interrupted or failed run never leaves a half-written file."""
from __future__ import annotations

import contextlib
import os
import tempfile
from typing import Any, Iterator, Optional, TextIO

from .errors import FileError, InvalidValueError

__all__ = ["atomic_output"]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_output(path: Optional[str], binary: bool = False,
                  stdout: Optional[TextIO] = None) -> Iterator[Any]:
    """Write to ``path`` through a temporary file in the same directory,
    renamed into place only when the writer finishes; None means stdout."""
    if path is None or path == "-":
        if binary:
            raise InvalidValueError("a binary output needs a file: add -o FILE")
        yield stdout
        return
    directory = os.path.dirname(os.path.abspath(path))
    try:
        fd, tmp = tempfile.mkstemp(prefix=".%s." % os.path.basename(path), dir=directory)
    except OSError as e:
        raise FileError("%s: cannot write there: %s" % (path, e.strerror or e)) from None
    try:
        try:
            with os.fdopen(fd, "wb" if binary else "w") as f:
                yield f
        except OSError as e:
            if isinstance(e, FileError):
                raise
            # disk full, file too large: say which output failed
            raise FileError("%s: cannot write: %s" % (path, e.strerror or e)) from None
        os.chmod(tmp, 0o666 & ~_umask())    # mkstemp makes 0600; be a normal file
        try:
            os.replace(tmp, path)
        except OSError as e:
            raise FileError("%s: cannot write there: %s" % (path, e.strerror or e)) from None
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
