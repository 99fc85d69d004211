"""One registry idiom for everything users add to: corruptions, datasets, augmentation
families, codecs and models, the way timm registers models.

A registry loads its built-in entries *before* the first registration or lookup, so a
user's entry made at import time is never silently replaced when the built-ins load later.
Replacing a name is explicit (``override=True``); without it, a second registration of the
same name is an error that says so.
"""
from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Iterator, Sequence
from typing import Generic, TypeVar

from .errors import BenchError

log = logging.getLogger(__name__)
T = TypeVar("T")


class Registry(Generic[T]):
    """Named entries of one kind; ``builtins`` are the modules that register the shipped ones."""

    def __init__(self, kind: str, builtins: Sequence[str] = (),
                 error: type[BenchError] = BenchError):
        self.kind = kind
        self._builtins = tuple(builtins)
        self._error = error
        self._entries: dict[str, T] = {}
        self._loaded = not self._builtins

    def _load(self) -> None:
        if self._loaded:
            return
        self._loaded = True  # set first: the built-in modules register through this registry
        try:
            for module in self._builtins:
                importlib.import_module(module)
        except BaseException:
            self._loaded = False
            raise

    def add(self, name: str, entry: T, *, override: bool = False) -> T:
        self._load()
        if name in self._entries and not override:
            raise ValueError(f"{self.kind} {name!r} is already registered; pass override=True "
                             "to replace it")
        if name in self._entries:
            log.info("%s %r: replacing the registered entry", self.kind, name)
        self._entries[name] = entry
        return entry

    def decorator(self, name: str, make: Callable[[Callable], T], *,
                  override: bool = False) -> Callable[[Callable], Callable]:
        """A decorator that registers ``make(fn)`` under ``name`` and returns ``fn``."""
        def wrap(fn: Callable) -> Callable:
            self.add(name, make(fn), override=override)
            return fn
        return wrap

    def remove(self, name: str) -> None:
        self._entries.pop(name, None)

    def get(self, name: str) -> T:
        self._load()
        try:
            return self._entries[name]
        except KeyError:
            raise self._error(f"unknown {self.kind} {name!r}; known: "
                              f"{', '.join(self._entries)}") from None

    def __contains__(self, name: object) -> bool:
        self._load()
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        self._load()
        return iter(list(self._entries))

    def names(self) -> list[str]:
        return list(self)
