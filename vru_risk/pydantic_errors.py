"""Pydantic validation errors as the one-line problems this project shows: ``where: what``.

Every place that turns a :class:`pydantic.ValidationError` (or FastAPI's request errors, which
have the same ``loc``/``msg`` shape) into text for a person uses these functions, so a location
is always written the same way: its parts joined by dots (``features.0.window``), or a word
naming the whole input when the error is about the input itself.

A leaf module: it imports nothing from ``vru_risk``, so every layer may use it.

Example
-------
>>> from pydantic import BaseModel, ValidationError
>>> class Window(BaseModel):
...     days: int
>>> try:
...     Window.model_validate({"days": "thirty"})
... except ValidationError as exc:
...     error_lines(exc)
['days: Input should be a valid integer, unable to parse string as an integer']
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from pydantic import ValidationError


def error_location(loc: Iterable[object], *, default: str = "", sep: str = ".") -> str:
    """The parts of an error's ``loc`` joined by ``sep``; ``default`` when it has none.

    >>> error_location(("features", 0, "window"))
    'features.0.window'
    >>> error_location((), default="(file)")
    '(file)'
    """
    return sep.join(str(part) for part in loc) or default


def error_line(error: Mapping[str, object], *, default: str = "") -> str:
    """One error as ``where: what`` (``default`` stands for an empty location).

    >>> error_line({"loc": ("window",), "msg": "Field required"})
    'window: Field required'
    """
    loc = error.get("loc", ())
    parts = loc if isinstance(loc, tuple | list) else (loc,)
    return f"{error_location(parts, default=default)}: {error.get('msg', '')}"


def error_lines(exc: ValidationError, *, prefix: str = "", default: str = "") -> list[str]:
    """Every error of ``exc`` as ``prefix + where: what``, in pydantic's order."""
    return [f"{prefix}{error_line(e, default=default)}" for e in exc.errors()]


def first_error_line(exc: ValidationError, *, default: str = "") -> str:
    """The first error of ``exc`` as ``where: what``."""
    return error_line(exc.errors()[0], default=default)
