"""The training budget knob: one environment variable scales every run in the course.

``GANCOURSE_BUDGET`` is one of

- ``smoke``: seconds, for the tests and CI (results are not meant to look good);
- ``book``: what the website is built with, a few minutes per training chapter on a 2-core CPU;
- ``full``: the paper-sized runs, for a GPU (Colab or a workstation).

Unset, the budget is ``book``. Notebooks never hard-code a step count; they ask::

    steps = budget.choose(smoke=50, book=3_000, full=20_000)

A second knob, ``GANCOURSE_SEED`` (default 0), shifts the seeds of the training runs in the
chapters (:func:`seed`): a page built with another value must still pass its checks, which
is how the course makes sure that nothing it asserts about training hangs on one seed's luck.
"""

from __future__ import annotations

import os
from typing import TypeVar

from .settings import env_count

BUDGETS = ("smoke", "book", "full")
ENV_VAR = "GANCOURSE_BUDGET"
SEED_ENV_VAR = "GANCOURSE_SEED"
DEFAULT = "book"

T = TypeVar("T")


def current() -> str:
    """The budget in force: the value of ``GANCOURSE_BUDGET``, or ``book`` when it is unset.

    Raises:
        ValueError: if the variable holds anything but ``smoke``, ``book`` or ``full``.

    Introduced in chapter 1.
    """
    value = os.environ.get(ENV_VAR, "").strip().lower() or DEFAULT
    if value not in BUDGETS:
        raise ValueError(
            f"{ENV_VAR}={os.environ[ENV_VAR]!r} is not a budget; "
            f"set it to one of {', '.join(BUDGETS)} (or unset it for {DEFAULT!r})."
        )
    return value


def choose(*, smoke: T, book: T, full: T, budget: str | None = None) -> T:
    """Pick the value that belongs to the current budget (or to ``budget`` if given).

    Introduced in chapter 1.
    """
    name = budget if budget is not None else current()
    if name not in BUDGETS:
        raise ValueError(f"unknown budget {name!r}; use one of {', '.join(BUDGETS)}.")
    return {"smoke": smoke, "book": book, "full": full}[name]


def seed(base: int = 0) -> int:
    """``base`` shifted by ``GANCOURSE_SEED`` (0 when unset): the seed a chapter's run ``base`` uses.

    Raises:
        ValueError: if the variable is not a non-negative integer.

    Introduced in chapter 2.
    """
    return base + 1_000 * env_count(SEED_ENV_VAR, 0, 0, "a seed; set it to 0, 1, 2, ... (or unset it).")
