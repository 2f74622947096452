"""Self-checks for the course's assignments, one module per assignment.

A check calls the student's function on cases whose answers are known. **Where the
reference answers come from**, in every module: PyTorch's own functions, closed forms and
hand-computed values, computed in the check itself; or a function of the course
(``theory``, ``metrics``) that the test suite checks against such an independent
reference (``tests/test_theory.py``, ``tests/test_metrics.py``), named where it is used.
So no check rests on course code that is not itself checked independently. When
everything holds it prints one line per check; otherwise
it raises :class:`CheckFailed` (an ``AssertionError``) with the case that went wrong, what
was expected, and, when the wrong value matches a common mistake, what that mistake is::

    from gancourse.checks import gan_losses as check
    check.bce(bce)   # ✓ bce: ... or CheckFailed: bce: ... did you drop the minus sign?
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import torch

__all__ = ["CheckFailed", "f64", "fail", "passed", "to_float", "to_tensor", "compare"]

f64 = torch.float64  # the checks compute their references in double precision


class CheckFailed(AssertionError):
    """A self-check found a wrong answer; the message says which case and why."""


def fail(task: str, message: str):
    """Raise :class:`CheckFailed` for ``task``."""
    raise CheckFailed(f"{task}: {message}")


def passed(task: str, what: str) -> None:
    """Report a passed check."""
    print(f"\N{CHECK MARK} {task}: {what}")


def to_tensor(task: str, value, what: str = "the result") -> torch.Tensor:
    """``value`` as a float64 tensor, or a failed check that says what was returned instead."""
    if isinstance(value, torch.Tensor):
        return value.detach().to(torch.float64)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return torch.tensor(float(value), dtype=torch.float64)
    fail(task, f"{what} should be a torch tensor (or a number), but it is {type(value).__name__}: {value!r:.80}")


def to_float(task: str, value, what: str = "the result") -> float:
    """``value`` (a number or a one-element tensor) as a Python float."""
    tensor = to_tensor(task, value, what)
    if tensor.numel() != 1:
        fail(task, f"{what} should be a single number (a scalar tensor), but it has shape {tuple(tensor.shape)}; did you forget to average?")
    return tensor.item()


def _close(a: torch.Tensor, b: torch.Tensor, rtol: float, atol: float) -> bool:
    return a.shape == b.shape and bool(torch.allclose(a, b, rtol=rtol, atol=atol, equal_nan=False))


def compare(
    task: str,
    case: str,
    got,
    want,
    mistakes: Mapping[str, object] | None = None,
    rtol: float = 1e-6,
    atol: float = 1e-9,
) -> None:
    """Fail unless ``got`` equals ``want``; name the mistake whose value ``got`` matches, if any.

    Args:
        task: the function under test, e.g. ``"bce"``.
        case: the call that produced ``got``, e.g. ``"bce(0.9, 1)"``.
        got, want: numbers or tensors.
        mistakes: ``{explanation: the value that mistake would give}``, tried in order.
    """
    got_t, want_t = to_tensor(task, got, f"{case}"), to_tensor(task, want)
    if got_t.shape != want_t.shape and got_t.numel() == want_t.numel() == 1:
        got_t = got_t.reshape(want_t.shape)
    if _close(got_t, want_t, rtol, atol):
        return
    if got_t.shape != want_t.shape:
        fail(task, f"{case} returned shape {tuple(got_t.shape)}; expected shape {tuple(want_t.shape)}.")
    for explanation, value in (mistakes or {}).items():
        value_t = to_tensor(task, value)
        if value_t.numel() == got_t.numel() and _close(got_t, value_t.reshape(got_t.shape), 1e-4, 1e-7):
            fail(task, f"{case} returned {_show(got_t)}; expected {_show(want_t)}. {explanation}")
    if not torch.isfinite(got_t).all():
        fail(task, f"{case} returned {_show(got_t)}, which is not finite; expected {_show(want_t)}.")
    fail(task, f"{case} returned {_show(got_t)}; expected {_show(want_t)}.")


def _show(t: torch.Tensor) -> str:
    if t.numel() == 1:
        x = t.item()
        return f"{x:.6g}" if math.isfinite(x) else str(x)
    flat = ", ".join(f"{x:.4g}" for x in t.flatten()[:6].tolist())
    more = ", ..." if t.numel() > 6 else ""
    return f"tensor of shape {tuple(t.shape)} [{flat}{more}]"
