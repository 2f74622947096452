"""Checked settings: the validators every configuration uses, and the ``GANCOURSE_*`` numbers.

A setting is refused with one line that names it, says what it may be and shows what it
was: ``require(ok, name, value, allowed)`` raises ``ValueError("NAME must be ALLOWED, got
VALUE.")``; :func:`is_int`, :func:`is_number` and :func:`is_seed` are the tests it is given.
The environment variables that hold a number are read by :func:`env_count` (``1, 2, ...``,
or ``0, 1, 2, ...``: threads, workers, the seed shift) and :func:`env_seconds` (a positive
number of seconds: the timeouts); each module keeps its own variable's name and default
(:func:`gancourse.budget.seed`, :func:`gancourse.device.set_cpu_threads`,
:func:`gancourse.parallel.default_workers`, :func:`gancourse.data.download_timeout`,
:func:`gancourse.distributed.timeout`). Unset or blank, a variable gives the default.
"""

from __future__ import annotations

import math
import numbers
import os

SEED_RANGE = "an integer from -2**63 to 2**64 - 1"


def is_int(value) -> bool:
    """An integer, and not a bool (``True`` is an int to Python, but not a number of steps)."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value) -> bool:
    """A finite real number (Python's or NumPy's), and not a bool; an integer of any size is finite."""
    if not isinstance(value, numbers.Real) or isinstance(value, bool):
        return False
    return isinstance(value, numbers.Integral) or math.isfinite(value)


def is_seed(value) -> bool:
    """An integer that torch.manual_seed accepts: from -2**63 to 2**64 - 1."""
    return is_int(value) and -(2**63) <= value < 2**64


def require(ok: bool, name: str, value, allowed: str) -> None:
    """Raise ``ValueError("NAME must be ALLOWED, got VALUE.")`` unless ``ok``."""
    if not ok:
        raise ValueError(f"{name} must be {allowed}, got {value!r}.")


def env_count(name: str, default: int, minimum: int, advice: str) -> int:
    """The whole number ``minimum``, ``minimum + 1``, ... in the variable ``name`` (``default`` if unset).

    Raises:
        ValueError: ``"NAME='VALUE' is not ADVICE"`` (``advice`` says what it counts and how
            to set it) when the variable holds anything else.
    """
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    if not value.isdigit() or int(value) < minimum:
        raise ValueError(f"{name}={value!r} is not {advice}")
    return int(value)


def env_seconds(name: str, default: float, advice: str, maximum: float = math.inf) -> float:
    """A number of seconds ``s``, ``0 < s <= maximum`` and finite, in the variable ``name`` (``default`` if unset).

    Raises:
        ValueError: ``"NAME='VALUE' is not ADVICE"`` when the variable holds anything else.
    """
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        seconds = float(value)
    except ValueError:
        seconds = math.nan
    if not (0 < seconds <= maximum and math.isfinite(seconds)):
        raise ValueError(f"{name}={value!r} is not {advice}")
    return seconds
