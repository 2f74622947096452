"""The checks' runner: a case passes, names its mistake, or says what is wrong with the result.

The checks themselves are tested on the assignments (``tests/test_assignments.py``), where
plausible wrong answers must be caught; these tests pin down the runner they share.
"""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil

import pytest
import torch

from gancourse import checks
from gancourse.checks import Case, Check, CheckFailed, compare, f64, judge, passed, run

SQUARES = torch.tensor([1.0, 4.0, 9.0], dtype=f64)
SQUARE = Case("square([1, 2, 3])", (torch.tensor([1.0, 2.0, 3.0], dtype=f64),), SQUARES, {
    "That is x + x; square it: x * x.": torch.tensor([2.0, 4.0, 6.0], dtype=f64),
    "That is x ** 3; the square is x ** 2.": torch.tensor([1.0, 8.0, 27.0], dtype=f64),
})  # fmt: skip
MEAN = Case("mean([1, 2, 3])", (torch.tensor([1.0, 2.0, 3.0], dtype=f64),), 2.0,
            {"That is the sum; the mean divides it by N.": 6.0}, scalar=True)  # fmt: skip


def failure(fn, case: Case, **kwargs) -> str:
    with pytest.raises(CheckFailed) as caught:
        run("task", fn, [case], **kwargs)
    return str(caught.value)


def test_a_right_answer_passes_and_comes_back_converted():
    squares, mean = run("task", lambda x: x * x, [SQUARE]), run("task", torch.mean, [MEAN])
    assert torch.equal(squares[0], SQUARES) and squares[0].dtype == f64
    assert mean == [2.0] and isinstance(mean[0], float)
    assert run("task", lambda x: (x * x).float(), [SQUARE])  # float32, within the tolerance


def test_a_wrong_answer_that_matches_a_mistake_is_named():
    message = failure(lambda x: x**3, SQUARE)
    assert message.startswith("task: square([1, 2, 3]) returned tensor of shape (3,) [1, 8, 27]")
    assert message.endswith("expected tensor of shape (3,) [1, 4, 9] (largest difference 18 at index 2). That is x ** 3; the square is x ** 2.")  # fmt: skip
    assert failure(torch.sum, MEAN) == "task: mean([1, 2, 3]) returned 6; expected 2. That is the sum; the mean divides it by N."  # fmt: skip


def test_an_unknown_wrong_answer_shows_both_values_and_no_mistake():
    message = failure(lambda x: x * x + 1, SQUARE)
    assert message == "task: square([1, 2, 3]) returned tensor of shape (3,) [2, 5, 10]; expected tensor of shape (3,) [1, 4, 9] (largest difference 1 at index 0)."  # fmt: skip
    # where the values agree in what the message shows, the largest difference and its place tell them apart
    grid = Case("grid()", want=torch.zeros(2, 8, dtype=f64))
    off = torch.zeros(2, 8, dtype=f64)
    off[1, 7] = 0.25
    assert failure(lambda: off, grid).endswith("(largest difference 0.25 at index (1, 7)).")


def test_the_first_matching_mistake_wins():
    case = Case("f()", want=1.0, mistakes={"first": 2.0, "second": 2.0})
    assert failure(lambda: 2.0, case).endswith("first")


def test_a_wrong_shape_is_reported_and_named_when_it_is_a_known_mistake():
    shaped = Case("square([1, 2, 3])", SQUARE.args, SQUARES, {"One row, not a column.": lambda x: (x * x)[:, None]})
    assert failure(lambda x: (x * x)[:, None], shaped) == "task: square([1, 2, 3]) returned shape (3, 1); expected shape (3,). One row, not a column."  # fmt: skip
    assert failure(lambda x: x[:2], shaped) == "task: square([1, 2, 3]) returned shape (2,); expected shape (3,)."  # fmt: skip
    assert "returned shape (2,); expected shape (3,)." in failure(lambda x: x[:2], SQUARE)


def test_a_non_finite_result_is_reported():
    nan = Case("sqrt(-1)", want=0.0, finite="Where the argument is negative, return 0.")
    assert failure(lambda: float("nan"), nan) == "task: sqrt(-1) returned nan. Where the argument is negative, return 0."  # fmt: skip
    assert "which is not finite" in failure(lambda: float("inf"), nan)
    assert "which is not finite" in failure(lambda: float("nan"), Case("sqrt(-1)", want=0.0))


def test_a_result_of_the_wrong_type_or_size_is_refused_before_its_value():
    assert "mean([1, 2, 3]) should be a single number (a scalar tensor), but it has shape (3,)" in failure(lambda x: x, MEAN)  # fmt: skip
    loss = Case("loss", SQUARE.args, 2.0, scalar=True, what="the result")
    assert failure(lambda x: x, loss).startswith("task: the result should be a single number")
    assert "should be a torch tensor (or a number), but it is str: 'two'" in failure(lambda x: "two", MEAN)  # fmt: skip


def test_a_guard_sees_the_raw_result_and_speaks_after_the_label():
    seen = []

    def float64_only(got):
        seen.append(got.dtype)
        return None if got.dtype == f64 else f"returned a {got.dtype} tensor."

    guarded = Case("square([1, 2, 3])", SQUARE.args, SQUARES, guard=float64_only)
    assert failure(lambda x: (x * x).float(), guarded) == "task: square([1, 2, 3]) returned a torch.float32 tensor."  # fmt: skip
    assert seen == [torch.float32]
    failure(lambda x: "nine", guarded)  # refused as a non-tensor before the guard sees it
    assert seen == [torch.float32]


def test_the_student_gets_copies_and_an_input_changed_in_place_is_named():
    x = torch.tensor([1.0, 2.0, 3.0], dtype=f64)
    case = Case("square(x)", (x,), SQUARES, kwargs={"out": torch.zeros(3, dtype=f64)})

    def into_out(x, out):
        out.copy_(x * x)
        return out

    def in_place(x, out):
        return x.mul_(x)

    # the right value, but written into an input: refused, the argument named
    assert "square(x) changed its input out in place" in failure(into_out, case)
    assert "square(x) changed its input x in place" in failure(in_place, case)
    assert torch.equal(x, torch.tensor([1.0, 2.0, 3.0], dtype=f64))  # the references are safe
    assert torch.equal(case.kwargs["out"], torch.zeros(3, dtype=f64))
    nan = Case("f(x)", (torch.tensor([float("nan"), 1.0], dtype=f64),), torch.tensor([0.0, 2.0], dtype=f64))
    assert run("task", lambda x: torch.nan_to_num(x) * 2, [nan])  # nan left where it was is no change


def test_a_function_that_switches_requires_grad_or_a_network_mode_is_named():
    x = torch.tensor([1.0, 2.0, 3.0], dtype=f64)
    assert "turned requires_grad on for its input x" in failure(lambda x: x.requires_grad_(True) * x, Case("square(x)", (x,), SQUARES))  # fmt: skip
    net = torch.nn.Sequential(torch.nn.Linear(1, 1), torch.nn.Dropout(0.5)).train()
    scaled = Case("f(net)", (net,), 2.0, scalar=True)

    def leaves_eval(net):
        net.eval()
        return 2.0

    def restores(net):
        was_training = net.training
        net.eval()
        net.train(was_training)
        return 2.0

    assert "left the network it was given in evaluation mode" in failure(leaves_eval, scaled)
    net.train()
    assert run("task", restores, [scaled]) == [2.0]


def test_float32_answers_are_compared_at_float32_precision():
    third = Case("third()", want=1 / 3, scalar=True, rtol=1e-9, atol=1e-12)
    as_float32 = torch.tensor(1 / 3, dtype=torch.float32)
    assert run("task", lambda: as_float32, [third])  # a float32 tensor
    assert run("task", lambda: as_float32.item(), [third])  # a Python number from one
    assert "returned 0.333334; expected 0.333333" in failure(lambda: torch.tensor(1 / 3 + 1e-6, dtype=f64), third)
    # float32 precision is not a free pass: an error of 1e-4 is still an error
    assert "expected 0.333333" in failure(lambda: torch.tensor(1 / 3 + 1e-4, dtype=torch.float32), third)


def test_a_task_that_asks_for_float64_refuses_float32_and_says_so():
    message = failure(lambda x: (x * x).float(), SQUARE, dtype=f64)
    assert message.startswith("task: square([1, 2, 3]) returned a float32 tensor; compute in float64, as the task asks")
    assert run("task", lambda x: x * x, [SQUARE], dtype=f64)
    assert run("task", lambda x: float((x * x).sum()), [Case("s", SQUARE.args, 14.0, scalar=True)], dtype=f64)


def test_runtime_errors_become_failures_with_a_hint_only_when_hints_are_given():
    def broadcast(x):
        return x + torch.ones(2, dtype=f64)

    hints = {"must match the size": "Reshape it."}
    message = failure(broadcast, SQUARE, hints=hints)
    assert message.startswith(
        "task: square([1, 2, 3]) raised RuntimeError: The size of tensor a (3)"
    )
    assert message.endswith("Reshape it.")
    with pytest.raises(RuntimeError):
        run("task", broadcast, [SQUARE])

    def stub(x):
        raise NotImplementedError("replace these two lines with your code")

    with pytest.raises(NotImplementedError):
        run("task", stub, [SQUARE], hints=hints)


def test_says_replaces_the_values_in_the_message():
    weights = Case("the weights", want=torch.zeros(3), mistakes={"No step.": torch.ones(3)}, says="are wrong")  # fmt: skip
    with pytest.raises(CheckFailed, match=r"^task: the weights are wrong \(largest difference 1 at index 0\). No step.$"):
        judge("task", weights, torch.ones(3))
    with pytest.raises(
        CheckFailed, match=r"^task: the weights are wrong \(largest difference 2 at index 1\).$"
    ):
        judge("task", weights, torch.tensor([0.0, 2.0, 0.0]))
    with pytest.raises(CheckFailed, match=r"^task: it gave 3 for 1.$"):
        compare("task", "it", 3.0, 1.0, says="gave {got} for {want}")


def test_a_passed_check_prints_one_line(capsys):
    passed("bce", "matches F.binary_cross_entropy")
    assert capsys.readouterr().out == "\N{CHECK MARK} bce: matches F.binary_cross_entropy\n"


# ----------------------------------------------------------------------------- the declarations
# Every check declared as data (gancourse.checks.Check) is also a test: each of its known
# mistakes, given to the check as the student's answer, is caught with its own message.
def declared() -> list[tuple[str, str, Check, Case | None, str]]:
    """(module, name, check, the case or None for the check's own mistakes, message) of every declared mistake."""
    found = []
    for module in MODULES:
        for name, check in vars(module).items():
            if isinstance(check, Check):
                cases = check.cases(*check.given) if callable(check.cases) else check.cases
                found += [(module.__name__, name, check, None, m) for m in check.mistakes]
                found += [(module.__name__, name, check, c, m) for c in cases for m, f in c.mistakes.items() if callable(f)]  # fmt: skip
    return found


MODULES = [importlib.import_module(f"gancourse.checks.{m.name}") for m in pkgutil.iter_modules(checks.__path__)]
DECLARED = declared()


def test_every_assignments_checks_are_declared_with_their_mistakes():
    assert {module for module, *_ in DECLARED} == {module.__name__ for module in MODULES}


def test_a_value_given_by_hand_agrees_with_the_checks_reference():
    """Hand values and closed forms, met by the reference's second route (the hand examples of
    assignment 3 are PyTorch's, the lecture's batch is F.binary_cross_entropy's, ...)."""
    checks = {id(check): check for _, _, check, _, _ in DECLARED if check.reference and not check.parts and not check.play}
    compared = 0
    for check in checks.values():
        for case in check.cases(*check.given) if callable(check.cases) else check.cases:
            if case.want is not None:
                got = torch.as_tensor(check.reference(*case.args, **case.kwargs), dtype=f64)
                assert torch.allclose(got, torch.as_tensor(case.want, dtype=f64), rtol=case.rtol, atol=case.atol), case.label
                compared += 1
    assert compared >= 20


@pytest.mark.parametrize(("module", "name", "check", "case", "message"), DECLARED,
                         ids=[f"{d[1]}-{d[3].label[:20] if d[3] else ''}-{d[4][:40]}" for d in DECLARED])  # fmt: skip
def test_every_declared_mistake_is_caught_by_its_check_with_its_own_message(module, name, check, case, message):
    mistake = (case.mistakes if case else check.mistakes)[message]
    if case is not None:  # a mistake of one case: that case alone
        check = dataclasses.replace(check, cases=[case])
    with pytest.raises(CheckFailed) as caught:
        check.results(mistake)
    cases = check.cases(*check.given) if callable(check.cases) else check.cases
    own = [message] + [m for c in cases for m, f in c.mistakes.items() if f is mistake]  # a case's own words for it
    assert any(str(caught.value).endswith(" " + m) for m in own), str(caught.value)
