"""Input checks shared by the clinical rules (private).

Every check raises :class:`heartprint.errors.InvalidInputError` whose message names the
argument, the value and the expected range, and returns the value as a float.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from heartprint.errors import InvalidInputError


def number(name: str, value: Any, low: float | None = None, high: float | None = None, *,
           unit: str = "", low_open: bool = False, high_open: bool = False) -> float:
    """Return ``value`` as a finite float within [low, high] (bounds optionally open)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        try:
            import numpy as np  # numpy scalars are fine

            if isinstance(value, np.generic) and not isinstance(value, np.bool_):
                value = value.item()
            else:
                raise TypeError
        except (ImportError, TypeError):
            raise InvalidInputError(f"{name}={value!r}: expected a number{_expect(low, high, unit, low_open, high_open)}") from None
    x = float(value)
    bad = not math.isfinite(x)
    if low is not None and (x < low or (low_open and x == low)):
        bad = True
    if high is not None and (x > high or (high_open and x == high)):
        bad = True
    if bad:
        raise InvalidInputError(f"{name}={value!r}{(' ' + unit) if unit else ''}: expected{_expect(low, high, unit, low_open, high_open)}")
    return x


def optional(name: str, value: Any, low: float | None = None, high: float | None = None, *,
             unit: str = "", **kw: bool) -> float | None:
    """Like :func:`number` but ``None`` passes through (a missing input)."""
    return None if value is None else number(name, value, low, high, unit=unit, **kw)


def integer(name: str, value: Any, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        try:
            import numpy as np

            if isinstance(value, np.integer):
                value = int(value)
            else:
                raise TypeError
        except (ImportError, TypeError):
            raise InvalidInputError(f"{name}={value!r}: expected an integer {low}–{high}") from None
    if not low <= value <= high:
        raise InvalidInputError(f"{name}={value!r}: expected an integer {low}–{high}")
    return int(value)


def choice(name: str, value: Any, options: Iterable[Any]) -> Any:
    opts = list(options)
    if isinstance(value, str):
        key = value.strip().lower()
        for o in opts:
            if isinstance(o, str) and o.lower() == key:
                return o
    elif value in opts:
        return value
    raise InvalidInputError(f"{name}={value!r}: expected one of {opts}")


def flag(name: str, value: Any) -> bool | None:
    """A yes/no input; ``None`` means unknown."""
    if value is None or isinstance(value, bool):
        return value
    try:
        import numpy as np

        if isinstance(value, np.bool_):
            return bool(value)
    except ImportError:  # pragma: no cover
        pass
    raise InvalidInputError(f"{name}={value!r}: expected True, False or None (unknown)")


def _expect(low: float | None, high: float | None, unit: str, low_open: bool, high_open: bool) -> str:
    u = f" {unit}" if unit else ""
    if low is None and high is None:
        return " a finite number"
    if high is None:
        return f" a finite number {'>' if low_open else '≥'} {low:g}{u}"
    if low is None:
        return f" a finite number {'<' if high_open else '≤'} {high:g}{u}"
    lo = "(" if low_open else "["
    hi = ")" if high_open else "]"
    return f" a finite number in {lo}{low:g}, {high:g}{hi}{u}"


def rule_name(func: Any) -> str:
    return f"{func.__module__}.{func.__qualname__}"
