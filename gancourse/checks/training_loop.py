"""Checks for assignment 6: write the training loop (Algorithm 1 of Goodfellow et al., 2014).

The student writes ``update_D(state, x_real, x_fake)``, ``update_G(state, x_fake)`` and
``train_step(state, k)`` over a :class:`gancourse.train.TrainingState`. Each check runs the
student's function on a small fixed game and compares the weights it leaves with those of
a reference step written here with PyTorch alone (``binary_cross_entropy_with_logits`` and
the state's own optimiser), and with those of each common mistake, so that a wrong step is
named, not only refused.

References: those steps, run on fresh copies of the same game. The game is set up by the
course: :class:`~gancourse.train.TrainingState` is what the student's functions take, and
:func:`~gancourse.train.update_D` / :func:`~gancourse.train.update_G` play two warm-up steps
so that Adam has moments. Neither gives a reference: whatever state they leave, the student's
step and the reference start from the same copy of it. :func:`learned_gaussian` compares the
trained generator with chapter 2's Gaussian (:func:`gancourse.runs.distribution`).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import torch
import torch.nn.functional as F

from .. import data, models, runs, train
from . import Case, Check, fail, pair, passed, to_float, weights


def _state() -> tuple[train.TrainingState, torch.Tensor, torch.Tensor]:
    """A small game on chapter 2's Gaussian, after a few plain steps (so Adam has moments),
    with one real batch and one fake batch ``G(z)`` that still carries G's graph."""
    torch.manual_seed(0)
    G = models.MLPGenerator(z_dim=4, x_dim=2, hidden=16, depth=2)
    D = models.MLPDiscriminator(x_dim=2, hidden=16, depth=2)
    config = train.TrainConfig(steps=10, batch_size=64, lr_d=1e-2, lr_g=1e-2, progress=False)
    state = train.TrainingState.create(G, D, data.gaussian_2d(), config, device="cpu")
    for _ in range(2):
        x_fake = G(state.noise())
        train.update_D(state, state.batches.next(), x_fake)
        train.update_G(state, x_fake)
    state.opt_G.zero_grad(set_to_none=True)
    state.opt_D.zero_grad(set_to_none=True)
    x_real = state.batches.next()
    return state, x_real, G(state.noise())


def _bce(logits: torch.Tensor, label: float) -> torch.Tensor:
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, label))


def _d_loss(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    return _bce(real, 1.0) + _bce(fake, 0.0)


def _step(player: str, loss: Callable | None = None, zero_grad: bool = True) -> Callable:
    """``update_D`` on ``loss(D(x), D(G(z)))``, the fakes detached, or ``update_G`` on ``loss(D(G(z)))``
    (by default the non-saturating -log D(G(z))); a mistake unless the defaults."""
    loss = loss or (_d_loss if player == "D" else lambda fake: _bce(fake, 1.0))

    def update(state, x, *fakes):  # D: (x_real, x_fake), the fakes detached; G: (x_fake,)
        optimizer = getattr(state, f"opt_{player}")
        if zero_grad:
            optimizer.zero_grad()
        value = loss(state.D(x), *[state.D(x_fake.detach()) for x_fake in fakes])
        value.backward()
        optimizer.step()
        return value.detach()

    return update


_WORDS = {  # what a step of each player must leave alone, and how a gradient reaches the player's weights
    "D": ("D's step changed G's weights: step only state.opt_D.", "Compute the loss from D's outputs as they are (no .detach() "
          "or .item() on them) and call loss_D.backward() before the step."),
    "G": ("G's step changed D's weights: step only state.opt_G (D's optimiser must not step here).", "G learns through D(x_fake) "
          "with x_fake still attached to G: do not detach it here (only D's step detaches), and call loss_G.backward() before the step."),
}  # fmt: skip


def _play(player: str, fn: Callable, case: Case) -> tuple[torch.Tensor, object]:
    """One step ``fn`` of ``player`` ("D" or "G") on a fresh copy of the game, both players with stale
    gradients: (the player's weights after it, the loss it returned), once it left the other player alone."""
    state, x_real, x_fake = _state()
    (me, other), opt = (state.D, state.G) if player == "D" else (state.G, state.D), getattr(state, f"opt_{player}")
    before, other_before = weights(me), weights(other)
    for p in [*state.D.parameters(), *state.G.parameters()]:  # left over from an earlier backward pass:
        p.grad = torch.full_like(p, 0.5)  # a correct step clears them; a step of G's optimiser here would move G
    steps = _calls(opt, "step")
    loss = fn(state, x_real, x_fake) if player == "D" else fn(state, x_fake)
    task, (changed_other, reach) = f"update_{player}", _WORDS[player]
    if player == "D" and any(p.grad is not None and not torch.all(p.grad == 0.5) for p in state.G.parameters()):
        fail(task, "D's step sent gradients into G's weights: give D x_fake.detach(), so that G stays fixed.")  # fmt: skip
    if not torch.equal(weights(other), other_before):
        fail(task, changed_other)
    if torch.equal(weights(me), before):
        fail(task, f"state.opt_{player}.step() was called, but {player}'s weights did not change: no gradient reached them. {reach}"
                   if steps else f"{player}'s weights did not change: call state.opt_{player}.step() after the backward pass.")  # fmt: skip
    return weights(me), loss


def _step_parts(player: str) -> tuple[Case, Case]:
    """How a step's results are judged: its player's weights, then the loss it returned."""
    return (Case(f"{player}'s weights after your step", rtol=1e-5, atol=1e-7, says="are not those of a correct step"),
            Case("it", scalar=True, what="the returned loss", rtol=1e-5, atol=1e-5,
                 says=f"returned the loss {{got}}; expected {{want}}, {player}'s loss before its step"))  # fmt: skip


STALE = "The gradients of an earlier backward pass were added to this one: call state.opt_{}.zero_grad() first."

update_D = Check(
    "update_D", doc="""``fn(state, x_real, x_fake)``: one step of ``state.opt_D`` on
    :math:`\\mathrm{BCE}(D(x), 1) + \\mathrm{BCE}(D(G(z)), 0)`, returning that loss.""",
    cases=[Case("update_D")], reference=_step("D"), play=partial(_play, "D"), parts=_step_parts("D"), mistakes={
        STALE.format("D"): _step("D", zero_grad=False),
        "D was trained on G's loss (its fakes labelled real): D labels real samples 1 and fakes 0.": _step("D", lambda real, fake: _bce(fake, 1.0)),
        "The labels are swapped: real samples are labelled 1 and fakes 0.": _step("D", lambda real, fake: _bce(real, 0.0) + _bce(fake, 1.0)),
        "Only the real half of the batch trained D; add the BCE of the fakes with label 0.": _step("D", lambda real, fake: _bce(real, 1.0)),
    }, report="one step of D's optimiser on BCE(D(x), 1) + BCE(D(G(z)), 0), G left alone",
)  # fmt: skip

update_G = Check(
    "update_G", doc="""``fn(state, x_fake)``: one step of ``state.opt_G`` on the non-saturating loss
    :math:`\\mathrm{BCE}(D(G(z)), 1) = -\\log D(G(z))`, returning that loss.""",
    cases=[Case("update_G")], reference=_step("G"), play=partial(_play, "G"), parts=_step_parts("G"), mistakes={
        STALE.format("G"): _step("G", zero_grad=False),
        "That is the saturating loss log(1 - D(G(z))); the non-saturating loss is -log D(G(z)) = BCE(D(G(z)), 1).":
            _step("G", lambda fake: -_bce(fake, 0.0)),
        "G was trained on D's loss for the fakes (label 0): it learned to look fake. G labels its fakes 1.": _step("G", lambda fake: _bce(fake, 0.0)),
    }, report="one step of G's optimiser on -log D(G(z)), D's weights untouched",
)  # fmt: skip


def _calls(obj, name: str, log: list | None = None, mark: object = None) -> list:
    """The results of the calls of one method of an object, which it passes on; with ``log``,
    appends ``mark`` to it at each call (after the call returns), beside what else is logged there."""
    method, results = getattr(obj, name), []

    def recorded(*args, **kwargs):
        results.append(method(*args, **kwargs))
        if log is not None:
            log.append(mark)
        return results[-1]

    setattr(obj, name, recorded)
    return results


def _last_losses(log: list, x_real: torch.Tensor) -> tuple[float, float] | None:
    """``(loss_D, loss_G)`` of the last step of each player, recomputed from D's outputs in ``log``.

    ``log`` holds ``(input, logits)`` for each call of D and the marks ``"D"``/``"G"`` of the
    optimisers' steps. D's last step is computed from the calls since the step before it (the
    rows of ``x_real``, the last real batch, are real; the others fake), G's from the calls
    between D's last step and G's. None when the log does not have that form.
    """
    d_steps = [i for i, entry in enumerate(log) if entry == "D"]
    g_steps = [i for i, entry in enumerate(log) if entry == "G"]
    if not d_steps or not g_steps or g_steps[-1] < d_steps[-1]:
        return None
    start = d_steps[-2] + 1 if len(d_steps) > 1 else 0
    d_calls = [entry for entry in log[start : d_steps[-1]] if isinstance(entry, tuple)]
    g_calls = [entry for entry in log[d_steps[-1] + 1 : g_steps[-1]] if isinstance(entry, tuple)]
    if not d_calls or not g_calls or any(x.dim() != 2 or x.shape[1:] != x_real.shape[1:] or logits.numel() != len(x) for x, logits in d_calls):  # fmt: skip
        return None
    d_logits = torch.cat([logits.flatten() for _, logits in d_calls])
    is_real = torch.cat([(x[:, None, :] == x_real[None]).all(dim=-1).any(dim=-1) for x, _ in d_calls])
    if is_real.all() or not is_real.any():
        return None
    loss_D = _d_loss(d_logits[is_real], d_logits[~is_real])
    loss_G = _bce(torch.cat([logits.flatten() for _, logits in g_calls]), 1.0)
    return loss_D.item(), loss_G.item()


def train_step(fn) -> None:
    """``fn(state, k)`` -> ``(loss_D, loss_G)``: one iteration of Algorithm 1: ``k`` steps of D,
    each on a fresh real batch and a fresh fake batch, then one step of G."""
    task = "train_step"
    for k in (1, 3):
        state, _, _ = _state()
        log = []  # D's calls and the optimisers' steps, in order
        reals, noises = _calls(state.batches, "next"), _calls(state, "noise")
        d_steps, g_steps = _calls(state.opt_D, "step", log, "D"), _calls(state.opt_G, "step", log, "G")
        state.D.register_forward_hook(lambda D, inputs, logits, log=log: log.append((inputs[0].detach(), logits.detach())))
        G_before = weights(state.G)
        result = fn(state, k)  # the hook stays on this state's D, made for this check alone
        result = pair(task, result, "(loss_D, loss_G)")
        got = [to_float(task, value, name) for name, value in zip(("loss_D", "loss_G"), result, strict=True)]  # fmt: skip
        last = _last_losses(log, reals[-1]) if reals else None
        if last is not None and not _pair_close(got, last) and _pair_close(got, last[::-1]):
            fail(task, f"it returned ({got[0]:.4f}, {got[1]:.4f}), which is (loss_G, loss_D): return the pair "
                       "in the order (loss_D, loss_G).")  # fmt: skip
        if len(reals) != k:
            fail(task, f"with k = {k} it drew {len(reals)} real batches; each of D's {k} steps needs its own.")  # fmt: skip
        if k > 1 and len(noises) == 1:
            fail(task, f"with k = {k} the fakes were drawn once for all {k} steps of D: draw fresh noise, "
                       "G(state.noise()), for every step of D.")  # fmt: skip
        if len(noises) not in (k, k + 1):
            fail(task, f"with k = {k} it drew {len(noises)} noise batches; expected one per step of D "
                       f"({k}), and optionally a fresh one for G's step.")  # fmt: skip
        if (len(d_steps), len(g_steps)) != (k, 1):
            fail(task, f"with k = {k}, D's optimiser stepped {len(d_steps)} times and G's {len(g_steps)} times; "
                       f"expected {k} and 1.")  # fmt: skip
        if torch.equal(weights(state.G), G_before):
            fail(task, "G's weights did not change.")
    passed(task, "k steps of D on fresh real and fake batches, then one step of G (k = 1 and 3)")


def _pair_close(a, b) -> bool:
    return all(abs(x - y) <= 1e-5 + 1e-4 * abs(y) for x, y in zip(a, b, strict=True))


def learned_gaussian(G: torch.nn.Module, n: int = 20_000) -> None:
    """The trained ``G`` matches chapter 2's Gaussian: mean within 0.4 and covariance within 0.5
    in every entry (an untrained generator is off by more than 0.5 in the mean)."""
    task = "learned_gaussian"
    target = runs.distribution(runs.load_config("gaussian"))
    x = train.generate(G, n, seed=123).double()
    mean_err = (x.mean(0) - target.mean).abs().max().item()
    cov_err = (torch.cov(x.T) - target.cov).abs().max().item()
    if not (mean_err < 0.4 and cov_err < 0.5):
        fail(task, f"the samples' mean is off by {mean_err:.3f} and their covariance by {cov_err:.3f} "
                   "(at most 0.4 and 0.5); train longer, or check the steps above.")  # fmt: skip
    passed(task, f"mean off by {mean_err:.3f}, covariance by {cov_err:.3f} (at most 0.4 and 0.5)")
