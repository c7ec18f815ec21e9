"""User-facing errors: each message names the field, file or argument and the fix.

The CLI turns any :class:`UserError` into one line on stderr and exit code 2.
"""

from __future__ import annotations

__all__ = ["UserError"]


class UserError(ValueError):
    """Bad input from the user (file, argument or scenario); never a bug."""
