"""Errors meant for people."""

from __future__ import annotations

import errno
import os


class UserError(Exception):
    """An error the user can fix; the CLI prints it as one line and exits with code 2."""


def reason(exc: BaseException) -> str:
    """One readable line for a lower-level exception, to put after "because" in a ``UserError``.

    Never empty and never a bare code: ``OSError(101)`` reads "Network is unreachable", an
    exception without a message reads as its class name, and only the first line of a long text is kept.

    Args:
        exc: the exception that was caught.
    """
    code = getattr(exc, "errno", None)
    text = getattr(exc, "strerror", None) or ""
    if not text:
        lines = str(exc).strip().splitlines()
        text = lines[0].strip() if lines else ""
        if text.lstrip("-").isdigit():  # OSError(101), a bare status code
            code, text = int(text), ""
    if not text and isinstance(code, int) and code in errno.errorcode:
        text = os.strerror(code)
    if not text:
        text = type(exc).__name__
    filename = getattr(exc, "filename", None)
    if filename and str(filename) not in text:
        text += f": {filename}"
    return text[:300]
