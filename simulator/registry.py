"""One small registry type for every extension point.

Policies, predictors, sweep executors and sweep cell kinds are each listed in a
:class:`Registry` keyed by the same string the YAML ``kind`` uses. Adding an entry means
decorating it in its own module; looking up an unknown name raises
:class:`UnknownNameError`, which lists the valid names.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from simulator.errors import UserError

__all__ = ["Registry", "UnknownNameError"]

T = TypeVar("T")


class UnknownNameError(UserError, KeyError):
    """A registry lookup failed; the message lists the valid names."""

    def __str__(self) -> str:
        return str(self.args[0])


class Registry(Generic[T]):
    """Named entries of one kind.

    Args:
        what: the entry kind in messages, e.g. ``"policy"``.
        plural: its plural, e.g. ``"policies"`` (default: ``what + "s"``).

    Built-in entries register themselves when their package is imported (the package's
    ``__init__`` imports its plug-in modules), so the registry never imports them back.
    """

    def __init__(self, what: str, plural: str | None = None) -> None:
        self.what = what
        self.plural = plural or f"{what}s"
        self._entries: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator: list the decorated object under ``name``.

        Raises:
            ValueError: ``name`` is already taken (a programming error).
        """

        def deco(entry: T) -> T:
            if name in self._entries:
                raise ValueError(f"{self.what} {name!r} registered twice")
            self._entries[name] = entry
            return entry

        return deco

    def get(self, name: str) -> T:
        """The entry ``name``.

        Raises:
            UnknownNameError: naming the valid entries.
        """
        entries = self._entries
        if name not in entries:
            raise UnknownNameError(f"unknown {self.what} {name!r}; valid {self.plural}: "
                                   f"{', '.join(sorted(entries))}")
        return entries[name]

    def names(self) -> list[str]:
        """Every registered name, sorted."""
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._entries)
