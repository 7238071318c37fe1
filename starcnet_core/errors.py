"""Errors raised for problems in what a user gave us (files, options).

A :class:`UserInputError` is a mistake a user can fix: a missing band, a
truncated FITS file, a catalog with the wrong columns. Command-line tools
print its message on one line and exit with status 2, without a traceback.
Anything else is a bug and propagates normally.
"""

__all__ = ["UserInputError"]


class UserInputError(ValueError):
    """A problem with user-supplied input, described in one clear line.

    The message should name the file (or option) and the problem, e.g.
    ``"ngc628_f336w.fits: not a FITS file (truncated header)"``.
    """
