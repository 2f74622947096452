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

**Tolerances.** An answer is compared at the precision it was computed in. The references
are float64; a float64 answer must meet its case's tolerance (``rtol`` 1e-6 by default). A
float32 (or half-precision) tensor, and a Python number, which may come from one, are
compared at float32 precision at least (:data:`FLOAT32_RTOL`, :data:`FLOAT32_ATOL`), so a
correct answer computed in float32 is never refused for its rounding. A task that needs
float64 says so, and its cases carry ``dtype=f64``: an answer in another precision is then
refused with a message that says to compute in float64.

**Side effects.** The student's function gets copies of the tensors; one that changes an
input in place is refused with a message that names the argument, because the same function
spoils its caller's tensors later (PyTorch then complains far from the cause).

**Where the reference answers come from**, in every module: PyTorch's own functions
(``torch.nn.functional``, ``torch.distributions``, autograd), closed forms and values
computed by hand, all computed in the check itself. Course code (``theory``, ``metrics``,
``train``) gives a reference only where the test suite checks it against an independent
one, and the module that uses it names it. Each module's docstring lists its references.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import torch
from torch import nn

__all__ = ["Case", "CheckFailed", "call", "compare", "f64", "fail", "judge", "pair", "passed", "run", "to_float", "to_tensor", "tolerance"]  # fmt: skip

f64 = torch.float64  # the checks compute their references in double precision
FLOAT32_RTOL, FLOAT32_ATOL = 1e-5, 1e-6  # the least tolerance for an answer in float32


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
    dtype: torch.dtype | None = None  # if set, a floating-point tensor of another dtype is refused


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


def pair(task: str, result, names: str) -> tuple:
    """``result`` as a pair, a tuple or a list alike, or a failed check that names what was expected."""
    if not (isinstance(result, tuple | list) and len(result) == 2):
        fail(task, f"it should return the pair {names}, but returned {type(result).__name__}.")
    return tuple(result)


def to_float(task: str, value, what: str = "the result") -> float:
    """``value`` (a number or a one-element tensor) as a Python float."""
    tensor = to_tensor(task, value, what)
    if tensor.numel() != 1:
        fail(task, f"{what} should be a single number (a scalar tensor), but it has shape {tuple(tensor.shape)}; did you forget to average?")  # fmt: skip
    return tensor.item()


def tolerance(got, rtol: float, atol: float) -> tuple[float, float]:
    """The tolerance for the raw answer ``got``: the case's, widened to float32 precision for a
    float32 or half-precision tensor and for a Python float (which may come from one)."""
    low = isinstance(got, float) or (
        isinstance(got, torch.Tensor) and got.is_floating_point() and torch.finfo(got.dtype).eps > 1e-10
    )
    return (max(rtol, FLOAT32_RTOL), max(atol, FLOAT32_ATOL)) if low else (rtol, atol)


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
    rtol, atol = tolerance(got, rtol, atol)
    got_t, want_t = to_tensor(task, got, f"{case}"), to_tensor(task, want)
    if got_t.shape != want_t.shape and got_t.numel() == want_t.numel() == 1:
        got_t = got_t.reshape(want_t.shape)
    if _close(got_t, want_t, rtol, atol):
        return
    if got_t.shape != want_t.shape:
        fail(task, f"{case} returned shape {tuple(got_t.shape)}; expected shape {tuple(want_t.shape)}.")  # fmt: skip
    said = f"{case} " + (says or "returned {got}; expected {want}").format(got=_show(got_t), want=_show(want_t))  # fmt: skip
    where = _largest_difference(got_t, want_t) if (got_t.numel() > 1 or (says and "{got}" not in says)) else ""  # fmt: skip
    for explanation, value in (mistakes or {}).items():
        value_t = to_tensor(task, value)
        if value_t.numel() == got_t.numel() and _close(got_t, value_t.reshape(got_t.shape), 1e-4, 1e-7):  # fmt: skip
            fail(task, f"{said}{where}. {explanation}")
    if not says and not torch.isfinite(got_t).all():
        fail(task, f"{case} returned {_show(got_t)}, which is not finite; expected {_show(want_t)}.")  # fmt: skip
    fail(task, f"{said}{where}.")


def _largest_difference(got: torch.Tensor, want: torch.Tensor) -> str:
    """" (largest difference 0.5 at index (1, 2))": how far off, and where (the first place if tied)."""
    diff = torch.nan_to_num((got - want).abs(), nan=math.inf).flatten()
    at = int(diff.argmax())
    if got.numel() == 1:
        return f" (largest difference {diff[at]:.3g})"
    index = tuple(int(i) for i in torch.unravel_index(torch.tensor(at), got.shape))
    return f" (largest difference {diff[at]:.3g} at index {index[0] if len(index) == 1 else index})"


def judge(task: str, case: Case, got) -> torch.Tensor | float:
    """``got``, the result of ``case``, as a float64 tensor (a float if ``case.scalar``), or a failed check."""
    what = case.what or case.label
    tensor = to_tensor(task, got, what)
    if case.dtype is not None and isinstance(got, torch.Tensor) and got.is_floating_point() and got.dtype != case.dtype:  # fmt: skip
        fail(task, f"{case.label} returned a {str(got.dtype).removeprefix('torch.')} tensor; compute in "
                   f"{str(case.dtype).removeprefix('torch.')}, as the task asks (keep the inputs' dtype: no .float(), "
                   "and torch.tensor(..., dtype=torch.float64) for new tensors).")  # fmt: skip
    rtol, atol = tolerance(got, case.rtol, case.atol)
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
        value = to_float(task, tensor, what)
        compare(task, case.label, tensor.reshape(()), case.want, case.mistakes, rtol, atol, case.says)  # float64: rtol stays
        return value
    compare(task, case.label, tensor, case.want, case.mistakes, rtol, atol, case.says)
    return tensor


def call(task: str, case: Case, fn: Callable, hints: Mapping[str, str] | None = None):
    """``fn(*case.args, **case.kwargs)``, tensors passed as copies (an in-place edit cannot
    spoil a reference, and is refused with the argument's name). With ``hints``, a
    ``RuntimeError`` (PyTorch's complaint about shapes, dtypes, graphs) fails the check,
    naming the case and adding the hint whose key the error's text contains."""
    args, kwargs = [_copy(a) for a in case.args], {k: _copy(v) for k, v in case.kwargs.items()}
    modes = [(value, [m.training for m in value.modules()]) for value in (*args, *kwargs.values()) if isinstance(value, nn.Module)]  # fmt: skip
    try:
        result = fn(*args, **kwargs)
    except RuntimeError as error:
        if hints is None or isinstance(error, NotImplementedError):  # the stub: not written yet
            raise
        text = str(error)
        hint = next((h for key, h in hints.items() if key in text), "")
        first = text.splitlines()[0].rstrip(".") if text else "(no message)"
        fail(task, f"{case.label} raised RuntimeError: {first}. {hint}".strip())
    _unchanged(task, case, fn, args, kwargs)
    for module, training in modes:
        if [m.training for m in module.modules()] != training:
            now = "evaluation" if not module.training else "training"
            fail(task, f"{case.label} left the network it was given in {now} mode; a function that switches a "
                       "network's mode (.eval() or .train()) restores it: was_training = net.training, then "
                       "net.train(was_training) before returning.")  # fmt: skip
    return result


def _copy(value):
    return value.clone() if isinstance(value, torch.Tensor) else value


def _same(a: torch.Tensor, b: torch.Tensor) -> bool:
    if a.is_floating_point() and b.is_floating_point():
        a, b = torch.nan_to_num(a), torch.nan_to_num(b)  # nan where nan was is no change
    return torch.equal(a, b)


def _unchanged(task: str, case: Case, fn: Callable, args: list, kwargs: dict) -> None:
    """Fail if ``fn`` changed one of its tensor arguments in place."""
    try:
        names = list(inspect.signature(fn).parameters)
    except (TypeError, ValueError):  # a builtin without a signature
        names = []
    given = [(names[i] if i < len(names) else f"argument {i + 1}", a, b) for i, (a, b) in enumerate(zip(case.args, args, strict=True))]  # fmt: skip
    given += [(name, case.kwargs[name], value) for name, value in kwargs.items()]
    for name, before, after in given:
        if isinstance(before, torch.Tensor) and before.requires_grad != after.requires_grad:
            fail(task, f"{case.label} turned requires_grad {'on' if after.requires_grad else 'off'} for its input "
                       f"{name}; leave the caller's tensor as it was and work on a copy, e.g. "
                       f"{name}.detach().requires_grad_(True).")  # fmt: skip
        if isinstance(before, torch.Tensor) and not _same(before.detach(), after.detach()):
            fail(task, f"{case.label} changed its input {name} in place (an operation ending in _, "
                       f"or {name}[...] = ..., or +=/*= on it); compute a new tensor instead, so that "
                       f"the caller's {name} is left as it was.")  # fmt: skip


def run(task: str, fn: Callable, cases: list[Case], hints: Mapping[str, str] | None = None, dtype: torch.dtype | None = None) -> list:  # fmt: skip
    """Call ``fn`` on each case in turn and :func:`judge` the result; return the results, converted.
    ``dtype``: the precision the task asks for, for every case that does not set its own."""
    if dtype is not None:
        cases = [case if case.dtype is not None else replace(case, dtype=dtype) for case in cases]
    return [judge(task, case, call(task, case, fn, hints)) for case in cases]


def _show(t: torch.Tensor) -> str:
    if t.numel() == 1:
        x = t.item()
        return f"{x:.6g}" if math.isfinite(x) else str(x)
    flat = ", ".join(f"{x:.4g}" for x in t.flatten()[:6].tolist())
    more = ", ..." if t.numel() > 6 else ""
    return f"tensor of shape {tuple(t.shape)} [{flat}{more}]"
