"""Self-checks for the course's assignments, one module per assignment.

A task's check is a declaration, a :class:`Check`: the calls of the student's function
(:class:`Case` s), the reference (a right answer written with PyTorch's own functions, or a
case's own value), the tolerance (below), the known mistakes, each a small function that
makes it, with the message that names it, and the hints for PyTorch's errors raised in the
student's code, this task's own. One runner calls, converts, compares and reports: a wrong
value is shown with its largest difference and where; a mistake is named only when its
function reproduces the student's values (or the student's error). A check that needs state
(a training step, a recorded critic) measures what it needs and hands it to :func:`judge`.
When everything holds a check prints one line; otherwise it raises :class:`CheckFailed`
(an ``AssertionError``)::

    from gancourse.checks import gan_losses as check
    check.bce(bce)   # ✓ bce: ... or CheckFailed: bce: ... did you drop the minus sign?

A function that returns several results declares their ``parts``, each judged in turn; one
that acts on state (a training step) declares how it is ``play`` ed, and the reference and the
mistakes are played the same way. Because each mistake is a function, every declaration is
also a test: given to its own check, each mistake must be caught with its own message
(``tests/test_checks.py``).

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
from functools import cache, partial
from typing import Any

import torch
from torch import nn

__all__ = ["Case", "Check", "CheckFailed", "call", "compare", "f64", "fail", "judge", "pair", "passed", "run", "seeded", "to_float", "to_tensor", "weights"]  # fmt: skip

f64 = torch.float64  # the checks compute their references in double precision
FLOAT32_RTOL, FLOAT32_ATOL = 1e-5, 1e-6  # the least tolerance for an answer in float32


class CheckFailed(AssertionError):
    """A self-check found a wrong answer; the message says which case and why."""


@dataclass
class Case:
    """One call of the student's function, its reference answer, and the answers of known mistakes.

    :func:`judge` checks a result in this order: a tensor or a number, ``guard``, ``finite``,
    ``scalar``, then the shape and the value (:func:`compare`).
    """

    label: str  # the call as the student reads it in a message, e.g. "bce([0.5], [1.0])"
    args: tuple = ()  # run calls fn(*args, **kwargs), with copies of the tensors
    want: Any = None  # the reference answer, a number or a tensor; if None, the check's reference
    mistakes: Mapping[str, Any] = field(default_factory=dict)  # {message: a function that makes it (or its answer)}
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    rtol: float = 1e-6
    atol: float = 1e-9
    scalar: bool = False  # one number is expected: a result of another size is refused
    what: str = ""  # how a result of the wrong type or size is named; the label if empty
    finite: str = ""  # if set, a result holding nan fails: "<label> returned nan. <finite>"
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
    if not (isinstance(result, tuple | list) and len(result) == names.count(",") + 1):
        fail(task, f"it should return the pair {names}, but returned {type(result).__name__}.")
    return tuple(result)


def to_float(task: str, value, what: str = "the result") -> float:
    """``value`` (a number or a one-element tensor) as a Python float."""
    tensor = to_tensor(task, value, what)
    if tensor.numel() != 1:
        fail(task, f"{what} should be a single number (a scalar tensor), but it has shape {tuple(tensor.shape)}; did you forget to average?")  # fmt: skip
    return tensor.item()


def weights(module: nn.Module) -> torch.Tensor:
    """All of a network's parameters, detached, in one flat tensor."""
    return torch.cat([p.detach().flatten() for p in module.parameters()])


def seeded(seed: int) -> torch.Generator:
    """A generator of its own for a check's random data, which then do not depend on the global seed."""
    return torch.Generator().manual_seed(seed)


def _close(a: torch.Tensor, b: torch.Tensor, rtol: float, atol: float) -> bool:
    return a.shape == b.shape and bool(torch.allclose(a, b, rtol=rtol, atol=atol, equal_nan=False))


def compare(task: str, case: str, got, want, mistakes: Mapping[str, object] | None = None,
            rtol: float = 1e-6, atol: float = 1e-9, says: str = "") -> None:  # fmt: skip
    """Fail unless ``got`` equals ``want``; name the mistake whose value ``got`` matches, if any.

    Args:
        task: the function under test, e.g. ``"bce"``.
        case: the call that produced ``got``, e.g. ``"bce(0.9, 1)"``.
        got, want: numbers or tensors.
        mistakes: ``{explanation: the value that mistake would give}``, tried in order; a value
            may be a function of no arguments that computes it (only if needed; an error skips it).
        says: what the message says after ``case`` instead of "returned ...; expected ...",
            with ``{got}`` and ``{want}`` for the values; if it shows neither, the message
            gives the largest difference.
    """
    if isinstance(got, float) or (isinstance(got, torch.Tensor) and got.is_floating_point() and torch.finfo(got.dtype).eps > 1e-10):  # fmt: skip
        rtol, atol = max(rtol, FLOAT32_RTOL), max(atol, FLOAT32_ATOL)  # float32 precision at least (Tolerances, above)
    got_t, want_t = to_tensor(task, got, f"{case}"), to_tensor(task, want)
    if got_t.shape != want_t.shape and got_t.numel() == want_t.numel() == 1:
        got_t = got_t.reshape(want_t.shape)
    if _close(got_t, want_t, rtol, atol):
        return
    tried = mistakes.items() if isinstance(mistakes, Mapping) else mistakes or ()  # a mapping, or (message, value) pairs
    named = next((f" {m}" for m, value in tried if _reproduces(got_t, value)), "")
    if got_t.shape != want_t.shape:
        fail(task, f"{case} returned shape {tuple(got_t.shape)}; expected shape {tuple(want_t.shape)}.{named}")  # fmt: skip
    said = f"{case} " + (says or "returned {got}; expected {want}").format(got=_show(got_t), want=_show(want_t))  # fmt: skip
    where = _largest_difference(got_t, want_t) if (got_t.numel() > 1 or (says and "{got}" not in says)) else ""  # fmt: skip
    if named:
        fail(task, f"{said}{where}.{named}")
    if not says and not torch.isfinite(got_t).all():
        fail(task, f"{case} returned {_show(got_t)}, which is not finite; expected {_show(want_t)}.")  # fmt: skip
    fail(task, f"{said}{where}.")


def _reproduces(got: torch.Tensor, value) -> bool:
    """Whether a mistake's value (or a function of no arguments that gives it) is ``got``."""
    try:
        value = value() if callable(value) else value
        value = None if value is None else to_tensor("", value)
    except Exception:  # noqa: BLE001 - a mistake that cannot be made on this case names nothing
        return False
    same = value is not None and (value.shape == got.shape or value.numel() == got.numel() == 1)
    return same and _close(got, value.reshape(got.shape), 1e-4, 1e-7)


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
    if case.guard is not None and (problem := case.guard(got)):
        fail(task, f"{case.label} {problem}")
    if case.finite and torch.isnan(tensor).any():
        fail(task, f"{case.label} returned nan. {case.finite}")
    value = to_float(task, tensor, what) if case.scalar else tensor
    compare(task, case.label, got, case.want, case.mistakes, case.rtol, case.atol, case.says)
    return value


def call(task: str, case: Case, fn: Callable, hints: Mapping[str, str] | None = None, mistakes: Mapping = None):  # fmt: skip
    """``fn(*case.args, **case.kwargs)``, tensors passed as copies (an in-place edit cannot
    spoil a reference, and is refused with the argument's name). With ``hints`` (or
    ``mistakes``), a ``RuntimeError`` (PyTorch's complaint about shapes, dtypes, graphs) fails
    the check, naming the case and adding the message of the first mistake (a function of no
    arguments that makes it) that raises the same error, or else the hint whose key the error's
    text contains."""
    args, kwargs = [_copy(a) for a in case.args], {k: _copy(v) for k, v in case.kwargs.items()}
    modes = [(value, [m.training for m in value.modules()]) for value in (*args, *kwargs.values()) if isinstance(value, nn.Module)]  # fmt: skip
    try:
        result = fn(*args, **kwargs)
    except RuntimeError as error:
        if (hints is None and mistakes is None) or isinstance(error, NotImplementedError):  # the stub
            raise
        text = str(error)
        hint = next((m for m, made in (mistakes or {}).items() if _raised(made) == text), "")
        hint = hint or next((h for key, h in (hints or {}).items() if key in text), "")
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


def _raised(made: Callable) -> str | None:
    """The text of the RuntimeError that a mistake, made by ``made()``, raises, if any."""
    try:
        made()
    except RuntimeError as error:
        return str(error)
    except Exception:  # noqa: BLE001 - another error is not the student's
        return None


def _copy(value):
    if isinstance(value, torch.Generator):  # each call draws from the generator as it was given
        return torch.Generator().set_state(value.get_state())
    return value.clone() if isinstance(value, torch.Tensor) else value


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
        if isinstance(before, torch.Tensor) and not torch.equal(*[torch.nan_to_num(t.detach()) for t in (before, after)]):  # nan where nan was is no change
            fail(task, f"{case.label} changed its input {name} in place (an operation ending in _, "
                       f"or {name}[...] = ..., or +=/*= on it); compute a new tensor instead, so that "
                       f"the caller's {name} is left as it was.")  # fmt: skip


def run(task: str, fn: Callable, cases: list[Case], hints: Mapping[str, str] | None = None, dtype: torch.dtype | None = None) -> list:  # fmt: skip
    """Call ``fn`` on each case in turn and :func:`judge` the result; return the results, converted.
    ``dtype``: the precision the task asks for, for every case that does not set its own."""
    return Check(task, cases=cases, hints=hints, dtype=dtype).results(fn)


def _show(t: torch.Tensor) -> str:
    if t.numel() == 1:
        x = t.item()
        return f"{x:.6g}" if math.isfinite(x) else str(x)
    flat = ", ".join(f"{x:.4g}" for x in t.flatten()[:6].tolist())
    more = ", ..." if t.numel() > 6 else ""
    return f"tensor of shape {tuple(t.shape)} [{flat}{more}]"


@dataclass
class Check:
    """A task's check as data: the calls, the reference, the known mistakes and the hints.

    Called with the student's function (and the check's other arguments, if any), it runs every
    case (:func:`call`, then :func:`judge`) and prints ``report``; :meth:`results` returns the
    results instead. ``doc`` is its docstring: the task's formula.
    """

    task: str
    doc: str = ""
    cases: list[Case] | Callable[..., list[Case]] = ()  # or a function of the check's other arguments
    reference: Callable | None = None  # a right answer: the want of every case that has none
    mistakes: Mapping[str, Callable] = field(default_factory=dict)  # {message: a function that makes it}
    hints: Mapping[str, str] | None = None  # {text of PyTorch's error: what to do}, this task's own
    dtype: torch.dtype | None = None  # the precision the task asks for, if any
    parts: tuple[str | Case, ...] = ()  # the names of the results, for a function that returns several
    report: Callable[[list], str] | str = ""  # what a passed check says, from the results
    given: tuple = ()  # the check's other arguments when none are passed (the course's own)
    play: Callable | None = None  # play(fn, case) -> what is compared, for a function that acts on state

    def __post_init__(self):
        self.__doc__ = self.doc
        others = list(inspect.signature(self.cases).parameters) if callable(self.cases) else []
        self.__signature__ = inspect.Signature([inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD) for name in ["fn", *others]])  # fmt: skip

    def __call__(self, fn: Callable, *given) -> None:
        results = self.results(fn, *given)
        passed(self.task, self.report(results) if callable(self.report) else self.report)

    def results(self, fn: Callable, *given) -> list:
        cases = self.cases(*(given or self.given)) if callable(self.cases) else self.cases
        return [self._run(fn, case) for case in cases]

    def _run(self, fn: Callable, case: Case):
        state = torch.get_rng_state()  # the mistakes draw the random numbers that the student's call draws
        made = {m: cache(partial(_made, f, case, state, self.play)) if callable(f) else f for m, f in {**case.mistakes, **self.mistakes}.items()}  # fmt: skip
        want = _made(self.reference, case, state, self.play) if case.want is None else case.want  # parts: None, not compared
        case = replace(case, want=want, mistakes=made, dtype=case.dtype or self.dtype)
        if self.play is not None:
            got = self.play(fn, case)
        else:
            label = f"{self.task} on {case.label}" if self.parts else case.label
            got = call(self.task, replace(case, label=label), fn, self.hints, {m: f for m, f in made.items() if callable(f)} or None)
        if not self.parts:
            return judge(self.task, case, got)
        got = pair(self.task, got, f"({', '.join(getattr(p, 'what', p) for p in self.parts)})")
        return tuple(judge(self.task, self._part(i, case, made, got), got[i]) for i in range(len(got)) if want[i] is not None)

    def _part(self, i: int, case: Case, made: dict, got: tuple) -> Case:
        """How part ``i`` of the results is judged (a name, or a Case whose words may hold {label});
        the mistakes that reproduce every part are tried first, then those that reproduce this one."""
        part = self.parts[i]
        if isinstance(part, Case):
            part = replace(part, label=part.label.format(label=case.label), what=part.what.format(label=case.label))
        else:
            part = replace(case, label=f"{part} on {case.label}", what=part)
        tried = [(m, partial(_part, v, i, got)) for m, v in made.items()] + [(m, partial(_part, v, i)) for m, v in made.items()]
        return replace(part, want=case.want[i], mistakes=tried)


def _made(mistake: Callable, case: Case, state: torch.Tensor, play: Callable | None = None):
    """What ``mistake`` makes of copies of ``case``'s arguments (or played), from the random ``state``."""
    with torch.random.fork_rng(devices=[]):
        torch.set_rng_state(state)
        if play is not None:
            return play(mistake, case)
        return mistake(*[_copy(a) for a in case.args], **{k: _copy(v) for k, v in case.kwargs.items()})


def _part(value, i: int, got: tuple | None = None):
    """Part ``i`` of a mistake's results; with ``got``, only if its other parts are the student's too."""
    made = value() if callable(value) else value
    others = [(to_tensor("", g), v) for j, (g, v) in enumerate(zip(got or (), made, strict=False)) if j != i]
    return made[i] if all(_reproduces(g, v) for g, v in others) else None
