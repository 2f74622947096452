"""Self-checks for the course's assignments, one module per assignment.

A task's check is a table of :class:`Case` s: a call of the student's function, the reference
answer, and the answers of common mistakes, each with the message that names it. One runner,
:func:`run`, calls, converts, compares and reports; a check that needs state (a training
step, a recorded critic) measures what it needs and hands it to :func:`judge`, so every
comparison names mistakes the same way. When everything holds a check prints one line;
otherwise it raises :class:`CheckFailed` (an ``AssertionError``) with the case that went
wrong, what was expected, and, when the wrong value matches a common mistake, what it is::

    from gancourse.checks import gan_losses as check
    check.bce(bce)   # ✓ bce: ... or CheckFailed: bce: ... did you drop the minus sign?

**Where the reference answers come from**, in every module: PyTorch's own functions
(``torch.nn.functional``, ``torch.distributions``, autograd), closed forms and values
computed by hand, all computed in the check itself. Course code (``theory``, ``metrics``,
``train``) gives a reference only where the test suite checks it against an independent
one, and the module that uses it names it. Each module's docstring lists its references.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import torch

__all__ = ["Case", "CheckFailed", "call", "compare", "f64", "fail", "judge", "passed", "run", "to_float", "to_tensor"]  # fmt: skip

f64 = torch.float64  # the checks compute their references in double precision


class CheckFailed(AssertionError):
    """A self-check found a wrong answer; the message says which case and why."""


@dataclass
class Case:
    """One call of the student's function, its reference answer, and the answers of known mistakes.

    :func:`judge` checks a result in this order: a tensor or a number, ``guard``, ``finite``,
    ``shapes``, ``scalar``, then the value (:func:`compare`).
    """

    label: str  # the call as the student reads it in a message, e.g. "bce([0.5], [1.0])"
    args: tuple = ()  # run calls fn(*args, **kwargs), with copies of the tensors
    want: Any = None  # the reference answer: a number or a tensor
    mistakes: Mapping[str, Any] = field(default_factory=dict)  # {message: that mistake's answer}
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    rtol: float = 1e-6
    atol: float = 1e-9
    scalar: bool = False  # one number is expected: a result of another size is refused
    what: str = ""  # how a result of the wrong type or size is named; the label if empty
    finite: str = ""  # if set, a result holding nan fails: "<label> returned nan. <finite>"
    shapes: Mapping[str, tuple] | None = None  # if set, the shape first: {message: wrong shape}
    guard: Callable[[Any], str | None] | None = None  # the raw result -> "returned ..." or None
    says: str = ""  # words for a wrong value, if not "returned {got}; expected {want}"


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
    fail(task, f"{what} should be a torch tensor (or a number), but it is {type(value).__name__}: {value!r:.80}")  # fmt: skip


def to_float(task: str, value, what: str = "the result") -> float:
    """``value`` (a number or a one-element tensor) as a Python float."""
    tensor = to_tensor(task, value, what)
    if tensor.numel() != 1:
        fail(task, f"{what} should be a single number (a scalar tensor), but it has shape {tuple(tensor.shape)}; did you forget to average?")  # fmt: skip
    return tensor.item()


def _close(a: torch.Tensor, b: torch.Tensor, rtol: float, atol: float) -> bool:
    return a.shape == b.shape and bool(torch.allclose(a, b, rtol=rtol, atol=atol, equal_nan=False))


def compare(task: str, case: str, got, want, mistakes: Mapping[str, object] | None = None,
            rtol: float = 1e-6, atol: float = 1e-9, says: str = "") -> None:  # fmt: skip
    """Fail unless ``got`` equals ``want``; name the mistake whose value ``got`` matches, if any.

    Args:
        task: the function under test, e.g. ``"bce"``.
        case: the call that produced ``got``, e.g. ``"bce(0.9, 1)"``.
        got, want: numbers or tensors.
        mistakes: ``{explanation: the value that mistake would give}``, tried in order.
        says: what the message says after ``case`` instead of "returned ...; expected ...",
            with ``{got}`` and ``{want}`` for the values; if it shows neither, the message
            gives the largest difference.
    """
    got_t, want_t = to_tensor(task, got, f"{case}"), to_tensor(task, want)
    if got_t.shape != want_t.shape and got_t.numel() == want_t.numel() == 1:
        got_t = got_t.reshape(want_t.shape)
    if _close(got_t, want_t, rtol, atol):
        return
    if got_t.shape != want_t.shape:
        fail(task, f"{case} returned shape {tuple(got_t.shape)}; expected shape {tuple(want_t.shape)}.")  # fmt: skip
    said = f"{case} " + (says or "returned {got}; expected {want}").format(got=_show(got_t), want=_show(want_t))  # fmt: skip
    for explanation, value in (mistakes or {}).items():
        value_t = to_tensor(task, value)
        if value_t.numel() == got_t.numel() and _close(got_t, value_t.reshape(got_t.shape), 1e-4, 1e-7):  # fmt: skip
            fail(task, f"{said}. {explanation}")
    if says and "{got}" not in says:
        fail(task, f"{said} (largest difference {(got_t - want_t).abs().max():.3g}).")
    if not says and not torch.isfinite(got_t).all():
        fail(task, f"{case} returned {_show(got_t)}, which is not finite; expected {_show(want_t)}.")  # fmt: skip
    fail(task, f"{said}.")


def judge(task: str, case: Case, got) -> torch.Tensor | float:
    """``got``, the result of ``case``, as a float64 tensor (a float if ``case.scalar``), or a failed check."""
    what = case.what or case.label
    tensor = to_tensor(task, got, what)
    if case.guard is not None and (problem := case.guard(got)):
        fail(task, f"{case.label} {problem}")
    if case.finite and torch.isnan(tensor).any():
        fail(task, f"{case.label} returned nan. {case.finite}")
    if case.shapes is not None:
        shape, want = tuple(tensor.shape), tuple(to_tensor(task, case.want).shape)
        if shape != want:
            named = next((f" {m}" for m, wrong in case.shapes.items() if tuple(wrong) == shape), "")
            fail(task, f"{case.label} returned shape {shape}; expected {want}.{named}")
    if case.scalar:
        tensor = to_float(task, tensor, what)
    compare(task, case.label, tensor, case.want, case.mistakes, case.rtol, case.atol, case.says)
    return tensor


def call(task: str, case: Case, fn: Callable, hints: Mapping[str, str] | None = None):
    """``fn(*case.args, **case.kwargs)``, tensors passed as copies (an in-place edit cannot
    spoil a reference). With ``hints``, a ``RuntimeError`` (PyTorch's complaint about shapes,
    dtypes, graphs) fails the check, naming the case and adding the hint whose key the
    error's text contains."""
    args, kwargs = [_copy(a) for a in case.args], {k: _copy(v) for k, v in case.kwargs.items()}
    try:
        return fn(*args, **kwargs)
    except RuntimeError as error:
        if hints is None or isinstance(error, NotImplementedError):  # the stub: not written yet
            raise
        text = str(error)
        hint = next((h for key, h in hints.items() if key in text), "")
        first = text.splitlines()[0].rstrip(".") if text else "(no message)"
        fail(task, f"{case.label} raised RuntimeError: {first}. {hint}".strip())


def _copy(value):
    return value.clone() if isinstance(value, torch.Tensor) else value


def run(task: str, fn: Callable, cases: list[Case], hints: Mapping[str, str] | None = None) -> list:
    """Call ``fn`` on each case in turn and :func:`judge` the result; return the results, converted."""
    return [judge(task, case, call(task, case, fn, hints)) for case in cases]


def _show(t: torch.Tensor) -> str:
    if t.numel() == 1:
        x = t.item()
        return f"{x:.6g}" if math.isfinite(x) else str(x)
    flat = ", ".join(f"{x:.4g}" for x in t.flatten()[:6].tolist())
    more = ", ..." if t.numel() > 6 else ""
    return f"tensor of shape {tuple(t.shape)} [{flat}{more}]"
