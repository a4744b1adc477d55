"""One place that checks a setting's type and range, so that every config refuses a bad value when it is set.

Configs are frozen dataclasses; each one calls :func:`check_fields` from ``__post_init__`` with a
:class:`Setting` per field. A refused value raises :class:`~unicorn.errors.UserError` with one line
that names the setting, the value and what is allowed::

    conf_thresh='abc' is not allowed: it must be a number in [0, 1] (e.g. conf_thresh=0.3)

No heavy imports here: the command line checks its settings before torch loads.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Any

from .errors import UserError


@dataclass(frozen=True)
class Setting:
    """What one setting accepts.

    Attributes:
        kind: ``float``, ``int``, ``bool`` or ``str`` (an int is accepted for a float, a bool never for a number).
        low: smallest allowed value (None: unbounded).
        high: largest allowed value (None: unbounded).
        low_open: ``low`` itself is not allowed.
        choices: the allowed values of a ``str`` setting.
        optional: None is allowed.
        example: a valid value shown in the message.
    """

    kind: type = float
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    choices: tuple[str, ...] = ()
    optional: bool = False
    example: Any = None

    def describe(self) -> str:
        """What is allowed, in words: ``a number in [0, 1]``, ``a whole number >= 1``, ``one of a, b``."""
        if self.kind is str:
            text = f"one of {', '.join(repr(c) for c in self.choices)}" if self.choices else "a text"
        elif self.kind is bool:
            text = "true or false"
        else:
            text = "a whole number" if self.kind is int else "a number"
            if self.low is not None and self.high is not None:
                text += f" in {'(' if self.low_open else '['}{_num(self.low)}, {_num(self.high)}]"
            elif self.low is not None:
                text += f" {'>' if self.low_open else '>='} {_num(self.low)}"
            elif self.high is not None:
                text += f" <= {_num(self.high)}"
        return text + (" (or none)" if self.optional else "")


def _num(value: float) -> str:
    return f"{value:g}"


def unit(**kw: Any) -> Setting:
    """A probability, score or IoU: a number in [0, 1]."""
    return Setting(float, 0.0, 1.0, **kw)


def at_least(low: float, kind: type = float, **kw: Any) -> Setting:
    """A number (or whole number) >= ``low``."""
    return Setting(kind, low, **kw)


def positive(kind: type = float, **kw: Any) -> Setting:
    """A number (or whole number) > 0."""
    return Setting(kind, 0, low_open=True, **kw)


def one_of(*choices: str) -> Setting:
    """One of these words."""
    return Setting(str, choices=choices)


FLAG = Setting(bool)


def check_value(name: str, value: Any, rule: Setting) -> Any:
    """Check one value against ``rule``; returns it as ``rule.kind`` (an int given for a float becomes a float).

    Raises:
        UserError: one line with the setting, the value and what is allowed.
    """
    if value is None and rule.optional:
        return None
    ok = False
    if rule.kind is bool:
        ok = isinstance(value, bool) or type(value).__name__ == "bool_"
        value = bool(value) if ok else value
    elif rule.kind is str:
        ok = isinstance(value, str) and (not rule.choices or value in rule.choices)
    elif isinstance(value, numbers.Real) and not isinstance(value, bool) and type(value).__name__ != "bool_":
        if rule.kind is int:
            ok = isinstance(value, numbers.Integral)
            value = int(value) if ok else value
        else:
            value = float(value)
            ok = math.isfinite(value)
        if ok and rule.low is not None:
            ok = value > rule.low if rule.low_open else value >= rule.low
        if ok and rule.high is not None:
            ok = value <= rule.high
    if not ok:
        example = f" (e.g. {name}={rule.example})" if rule.example is not None else ""
        raise UserError(f"{name}={value!r} is not allowed: it must be {rule.describe()}{example}")
    return value


def check_fields(config: Any, rules: dict[str, Setting], where: str = "") -> None:
    """Check (and normalise: int -> float where a float is expected) the fields of a frozen dataclass.

    Args:
        config: the dataclass instance (called from its ``__post_init__``).
        rules: field name -> what it accepts.
        where: prefix of the setting name in messages (e.g. ``"bytetrack."``).
    """
    for name, rule in rules.items():
        value = check_value(where + name, getattr(config, name), rule)
        object.__setattr__(config, name, value)


def checked(rules: dict[str, Setting]):
    """Class decorator for a frozen dataclass: :func:`check_fields` with ``rules`` runs before the class's own
    ``__post_init__`` (which keeps its cross-field checks), also for subclasses.

    Example:
        >>> @checked({"conf_thresh": unit()})
        ... @dataclass(frozen=True)
        ... class Config:
        ...     conf_thresh: float = 0.1
    """
    def wrap(cls):
        own = getattr(cls, "__post_init__", None)

        def __post_init__(self) -> None:  # noqa: N807 - the dataclass hook
            check_fields(self, rules)
            if own is not None:
                own(self)

        cls.__post_init__ = __post_init__
        return cls
    return wrap


def check_ids(name: str, values: Any, high: int | None = None) -> tuple[int, ...]:
    """A sequence of whole numbers in [0, high) (class ids), as a tuple.

    Raises:
        UserError: a value is not a whole number, is negative, or is >= ``high``.
    """
    items = (values,) if isinstance(values, str | numbers.Number) else values
    try:
        items = tuple(items)
    except TypeError:
        raise UserError(f"{name}={values!r} is not allowed: it must be a list of whole numbers") from None
    top = f" and < {high}" if high is not None else ""
    out = []
    for v in items:
        if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 0 or (high is not None and v >= high):
            raise UserError(f"{name}={values!r} is not allowed: every id must be a whole number >= 0{top} "
                            f"({v!r} is not)")
        out.append(int(v))
    return tuple(out)


__all__ = ["FLAG", "Setting", "at_least", "check_fields", "check_ids", "check_value", "checked", "one_of", "positive",
           "unit"]
