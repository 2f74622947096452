"""Checks for assignment 4: the WGAN critic's loss, the gradient penalty and the critic step.

The references are closed forms and autograd, not :mod:`gancourse.losses`:

- a linear critic :math:`f(x) = w^\\top x + b` has the gradient :math:`w` everywhere, so its
  penalty is :math:`\\lambda(\\|w\\| - 1)^2` wherever it is evaluated;
- :math:`f(x) = \\tfrac12\\|x\\|^2` has the gradient :math:`x` itself, so its penalty depends on
  *where* it is evaluated: on the interpolates, not on the real or the generated points;
- for a small tanh network the penalty and its gradient with respect to the critic's weights
  are recomputed one sample at a time with ``torch.autograd.grad``;
- one SGD step of a linear critic moves its weights by the learning rate times the gradient
  of :math:`\\overline{f(\\tilde x)} - \\overline{f(x)} + \\lambda(\\|w\\| - 1)^2`, computed
  here on a copy of the critic.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from . import CheckFailed, compare, f64, fail, passed, to_float, to_tensor


# ----------------------------------------------------------------------------- data
def shift_batch(theta: float = 2.0, n: int = 256):
    """Real points x ~ N(0, I) in the plane and fakes x + (theta, 0): a shift, W1 = |theta|."""
    gen = torch.Generator().manual_seed(4)
    real = torch.randn(n, 2, dtype=f64, generator=gen)
    return real, real + torch.tensor([theta, 0.0], dtype=f64)


def penalty_batch():
    """A fixed batch of four 1 x 4 x 4 "images" (real, fake) and asymmetric weights eps."""
    gen = torch.Generator().manual_seed(7)
    real = 0.5 + 0.3 * torch.randn(4, 1, 4, 4, dtype=f64, generator=gen)
    fake = 0.2 * torch.randn(4, 1, 4, 4, dtype=f64, generator=gen)
    eps = torch.tensor([0.1, 0.25, 0.7, 1.0], dtype=f64)
    return real, fake, eps


def half_square_norm(x):
    """The critic f(x) = ||x||^2 / 2 per sample; its gradient at x is x itself."""
    return 0.5 * x.flatten(start_dim=1).pow(2).sum(dim=1)


def linear_critic(d: int, norm: float, image: bool = False) -> nn.Module:
    """f(x) = w . x + 0.5 with ||w|| = norm, on flattened samples of d numbers."""
    gen = torch.Generator().manual_seed(d)
    w = torch.randn(d, dtype=f64, generator=gen)
    layer = nn.Linear(d, 1, dtype=f64)
    with torch.no_grad():
        layer.weight.copy_(norm * w / w.norm())
        layer.bias.fill_(0.5)
    return nn.Sequential(nn.Flatten(), layer) if image else layer


def _mlp_critic() -> nn.Module:
    with torch.random.fork_rng():
        torch.manual_seed(11)
        net = nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 16), nn.Tanh(), nn.Linear(16, 1))
    return net.to(f64)


# ----------------------------------------------------------------------------- helpers
HINTS = {
    "does not require grad": "torch.autograd.grad needs the points to require a gradient: "
    "call .requires_grad_(True) on the interpolates before the critic sees them.",
    "dtype": "Two tensors have different dtypes; if it is eps that you drew, give it the batch's dtype "
    "and device, torch.rand(N, dtype=real.dtype, device=real.device).",
    "must match the size": "eps of shape (N,) does not broadcast against the batch: reshape it to "
    "(N, 1, ..., 1), one 1 per dimension of a sample, e.g. eps.reshape(-1, *[1] * (real.dim() - 1)).",
}


def _call(task: str, case: str, fn, *args, **kwargs):
    """``fn(*args, **kwargs)``, with PyTorch's runtime errors turned into a failed check with a hint."""
    try:
        return fn(*args, **kwargs)
    except NotImplementedError:
        raise
    except CheckFailed:
        raise
    except RuntimeError as error:
        text = str(error)
        hint = next((h for key, h in HINTS.items() if key in text), "")
        first = text.splitlines()[0].rstrip(".") if text else "(no message)"
        fail(task, f"{case} raised RuntimeError: {first}. {hint}".strip())


def _gradients(critic, points: torch.Tensor) -> torch.Tensor:
    """The critic's gradient at each point, one sample at a time."""
    rows = []
    for point in points:
        x = point.detach().clone().unsqueeze(0).requires_grad_(True)
        (g,) = torch.autograd.grad(critic(x).sum(), x)
        rows.append(g[0])
    return torch.stack(rows)


def _broadcast(eps: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    return eps.reshape(-1, *([1] * (like.dim() - 1)))


def _between(real, fake, eps):
    e = _broadcast(eps, real)
    return e * real + (1 - e) * fake


def _penalty(grads: torch.Tensor, lam: float) -> torch.Tensor:
    norms = grads.flatten(start_dim=1).norm(dim=1)
    return lam * ((norms - 1) ** 2).mean()


def _penalty_mistakes(critic, real, fake, eps, lam: float) -> dict[str, torch.Tensor]:
    """{explanation: the value of gradient_penalty with that mistake}."""
    g = _gradients(critic, _between(real, fake, eps))
    norms = g.flatten(start_dim=1).norm(dim=1)
    n = len(g)
    mistakes = {
        "That is the penalty on the real points; evaluate it on the interpolates "
        "x_hat = eps * real + (1 - eps) * fake.": _penalty(_gradients(critic, real), lam),
        "That is the penalty on the generated points; evaluate it on the interpolates "
        "x_hat = eps * real + (1 - eps) * fake.": _penalty(_gradients(critic, fake), lam),
        "The interpolates have eps and (1 - eps) swapped: eps multiplies the real batch.":
            _penalty(_gradients(critic, _between(fake, real, eps)), lam),
        "That is the squared norm minus 1, (||g||^2 - 1)^2; the penalty is (||g|| - 1)^2, "
        "with the norm itself (take the square root).": lam * ((norms**2 - 1) ** 2).mean(),
        "That is the one-sided penalty max(0, ||g|| - 1)^2, which spares slopes below 1; "
        "WGAN-GP penalises (||g|| - 1)^2 on both sides.": lam * (torch.clamp(norms - 1, min=0) ** 2).mean(),
        "That is (||g|| - 1)^2 without the weight lam; multiply by lam.": ((norms - 1) ** 2).mean(),
        "That is the sum over the batch; the penalty is the mean over the samples.": lam * ((norms - 1) ** 2).sum(),
        "That is the norm of the gradient of the whole batch, one number; take the norm of each "
        "sample's gradient (over all its dimensions), then the mean of (||g_i|| - 1)^2.":
            lam * (g.norm() - 1) ** 2,
        "The gradients are N times too small: that is the gradient of the *mean* of the scores. "
        "Differentiate their sum: each score depends on its own sample only.": _penalty(g / n, lam),
        "That penalises ||g||^2 (as R1 does); the WGAN-GP penalty is (||g|| - 1)^2.": lam * (norms**2).mean(),
    }
    if g.dim() > 2:
        mistakes["The norm ran over dimension 1 only; flatten each sample's gradient and take the norm "
                 "over all its dimensions, g.flatten(start_dim=1).norm(dim=1)."] = lam * ((g.norm(dim=1) - 1) ** 2).mean()
    return mistakes


# ----------------------------------------------------------------------------- Task 1
def critic_loss(fn) -> None:
    """``fn(f_real, f_fake)``: :math:`\\mathcal L_f = \\frac1{m'}\\sum_j f(\\tilde x_j) - \\frac1m\\sum_i f(x_i)`, which the critic minimises."""
    task = "critic_loss"
    f_real = torch.tensor([1.0, 2.0, 4.0, 5.0], dtype=f64)
    f_fake = torch.tensor([0.5, -1.0, 1.5], dtype=f64)
    want = f_fake.mean() - f_real.mean()
    case = "critic_loss([1, 2, 4, 5], [0.5, -1, 1.5])"
    compare(task, case, to_float(task, _call(task, case, fn, f_real, f_fake)), want, {
        "The sign is flipped: that is the critic's estimate of the distance, mean f(real) - mean f(fake), "
        "which it maximises; its loss is the negative, mean f(fake) - mean f(real).": -want,
        "That is the difference of sums; take the mean of each half (the halves may differ in size).":
            f_fake.sum() - f_real.sum(),
        "That is the generator's loss -mean f(fake); the critic's loss also has the real term.": -f_fake.mean(),
        "That is only the fake half; subtract the mean score of the real samples.": f_fake.mean(),
    })
    column_real, column_fake = f_real.reshape(-1, 1), f_fake.reshape(-1, 1)
    case = "critic_loss on scores of shape (N, 1)"
    compare(task, case, to_float(task, _call(task, case, fn, column_real, column_fake)), want)

    leaf_real, leaf_fake = f_real.clone().requires_grad_(True), f_fake.clone().requires_grad_(True)
    got = fn(leaf_real, leaf_fake)
    if not isinstance(got, torch.Tensor) or got.grad_fn is None:
        fail(task, "the loss has no graph back to the scores, so it cannot train the critic: "
                   "return a tensor, without .item() or .detach().")
    grad_real, grad_fake = torch.autograd.grad(got, (leaf_real, leaf_fake))
    compare(task, "d critic_loss / d f_real", grad_real, torch.full((4,), -0.25, dtype=f64))
    compare(task, "d critic_loss / d f_fake", grad_fake, torch.full((3,), 1 / 3, dtype=f64))

    theta = 1.5
    real, fake = shift_batch(theta)
    case = "critic_loss of f(x) = -x_1 on a shift by 1.5"
    estimate = -to_float(task, _call(task, case, fn, -real[:, 0], -fake[:, 0]))
    compare(task, f"-{case}", estimate, theta)
    passed(task, f"mean f(fake) - mean f(real); the optimal critic of a shift by {theta} estimates "
                 f"W1 = {estimate:.3f}")


# ----------------------------------------------------------------------------- Task 2
def interpolates(fn) -> None:
    """``fn(real, fake, eps)``: :math:`\\hat x_i = \\epsilon_i x_i + (1 - \\epsilon_i)\\tilde x_i`, eps of shape (N,)."""
    task = "interpolates"
    real, fake, eps = penalty_batch()
    gen = torch.Generator().manual_seed(3)
    points_real = torch.randn(4, 2, dtype=f64, generator=gen)
    points_fake = torch.randn(4, 2, dtype=f64, generator=gen)
    for what, x, x_fake in (("images of shape (4, 1, 4, 4)", real, fake), ("points of shape (4, 2)", points_real, points_fake)):
        case = f"interpolates on {what}, eps = {eps.tolist()}"
        got = to_tensor(task, _call(task, case, fn, x.clone(), x_fake.clone(), eps.clone()), case)
        if got.shape != x.shape:
            fail(task, f"{case} returned shape {tuple(got.shape)}; expected the shape of the batch, "
                       f"{tuple(x.shape)}. Reshape eps from (N,) to (N, 1, ..., 1), one 1 per dimension "
                       f"of a sample, so that it works for images and for points alike.")
        mistakes = {
            "eps and (1 - eps) are swapped: eps = 1 must give the real sample, eps = 0 the fake one.":
                _between(x_fake, x, eps),
            "Every sample was mixed with the first eps; each sample has its own eps_i.":
                _between(x, x_fake, eps[:1].expand(4)),
            "Every sample was mixed with the mean eps; each sample has its own eps_i.":
                _between(x, x_fake, eps.mean().expand(4)),
        }
        if x.dim() == 4:
            mistakes["eps of shape (N,) was broadcast along the *last* axis (the image width), not the "
                     "batch: reshape it to (N, 1, ..., 1) first."] = eps * x + (1 - eps) * x_fake
            column = eps[:, None]
            mistakes["eps[:, None] only fits batches of shape (N, d); on images it lines up with the height "
                     "axis. Reshape it to (N, 1, ..., 1), one 1 per dimension of a sample."] = (
                column * x + (1 - column) * x_fake)
        compare(task, case, got, _between(x, x_fake, eps), mistakes)
    passed(task, "eps_i * x_i + (1 - eps_i) * fake_i for batches of images and of points; "
                 "eps = 1 gives the real sample, eps = 0 the fake one")


# ----------------------------------------------------------------------------- Task 3
def gradient_penalty(fn) -> None:
    """``fn(critic, real, fake, lam, eps)``: :math:`\\lambda\\,\\frac1N\\sum_i(\\|\\nabla f(\\hat x_i)\\|_2 - 1)^2` on the interpolates."""
    task = "gradient_penalty"
    real, fake, eps = penalty_batch()

    # linear critics: the gradient is w everywhere
    for norm in (0.4, 3.0):
        critic = linear_critic(16, norm, image=True)
        case = f"gradient_penalty of a linear critic with ||w|| = {norm} (lam = 10)"
        got = _call(task, case, fn, critic, real.clone(), fake.clone(), eps=eps.clone())
        compare(task, case, to_float(task, got, case), 10 * (norm - 1) ** 2,
                _penalty_mistakes(critic, real, fake, eps, 10.0))

    # f = ||x||^2 / 2: the gradient is the point itself
    lam = 5.0
    case = "gradient_penalty of f(x) = ||x||^2 / 2 (lam = 5)"
    got = _call(task, case, fn, half_square_norm, real.clone(), fake.clone(), lam=lam, eps=eps.clone())
    mistakes = _penalty_mistakes(half_square_norm, real, fake, eps, lam)
    mistakes["That is the penalty with lam = 10: use the argument lam."] = _penalty(_between(real, fake, eps), 10.0)
    want = _penalty(_between(real, fake, eps), lam)
    compare(task, case, to_float(task, got, case), want, mistakes)

    # a small tanh network: the value, and the graph back to the critic's weights
    critic = _mlp_critic()
    gen = torch.Generator().manual_seed(5)
    points_real = torch.randn(8, 2, dtype=f64, generator=gen)
    points_fake = 0.5 * torch.randn(8, 2, dtype=f64, generator=gen) + 1.0
    points_eps = torch.rand(8, dtype=f64, generator=gen)
    case = "gradient_penalty of a tanh network on 8 points in the plane"
    got = _call(task, case, fn, critic, points_real.clone(), points_fake.clone(), eps=points_eps.clone())
    x_hat = _between(points_real, points_fake, points_eps)
    reference = 0.0
    for point in x_hat:
        x = point.clone().unsqueeze(0).requires_grad_(True)
        (g,) = torch.autograd.grad(critic(x).sum(), x, create_graph=True)
        reference = reference + (g.norm() - 1) ** 2
    reference = 10.0 * reference / len(x_hat)
    compare(task, case, to_float(task, got, case), reference.detach(),
            _penalty_mistakes(critic, points_real, points_fake, points_eps, 10.0))
    if not isinstance(got, torch.Tensor) or got.grad_fn is None:
        fail(task, f"{case} has no graph back to the critic's weights (no grad_fn), so the penalty cannot "
                   "train the critic. Pass create_graph=True to torch.autograd.grad, and keep the result "
                   "a tensor (no .item() or .detach()).")
    params = list(critic.parameters())
    got_grads = torch.autograd.grad(got, params, allow_unused=True)
    want_grads = torch.autograd.grad(reference, params, allow_unused=True)  # the last bias has no say
    want_grads = [torch.zeros_like(p) if g is None else g for p, g in zip(params, want_grads, strict=True)]
    for (name, _), got_g, want_g in zip(critic.named_parameters(), got_grads, want_grads, strict=True):
        if got_g is None and want_g.any():
            fail(task, f"the penalty does not depend on the critic's parameter {name}; compute it from "
                       "the gradient that torch.autograd.grad returns with create_graph=True.")
        got_g = torch.zeros_like(want_g) if got_g is None else got_g
        compare(task, f"the gradient of the penalty with respect to the critic's {name}", got_g, want_g, rtol=1e-5)
    size = torch.cat([g.flatten() for g in want_grads]).norm().item()

    # eps drawn by the function: uniform on [0, 1], one per sample
    seen = []

    def recording_critic(x):
        seen.append(x.detach().clone())
        return half_square_norm(x)

    many_real, many_fake = shift_batch(2.0, 64)
    case = "gradient_penalty(f, real, fake) with eps=None (64 points)"
    with torch.random.fork_rng():
        torch.manual_seed(2024)
        got = _call(task, case, fn, recording_critic, many_real.clone(), many_fake.clone())
    if not seen:
        fail(task, f"{case} never called the critic.")
    x_hat = seen[-1]
    if x_hat.shape != many_real.shape:
        fail(task, f"{case}: the critic was called on a batch of shape {tuple(x_hat.shape)}; expected "
                   f"{tuple(many_real.shape)}, one interpolate per sample.")
    direction = many_real - many_fake
    drawn = ((x_hat - many_fake) * direction).sum(dim=1) / direction.pow(2).sum(dim=1)
    off = (x_hat - many_fake - drawn[:, None] * direction).abs().max().item()
    if off > 1e-6:
        fail(task, f"{case}: the critic was evaluated on points that are not on the segments between "
                   "the real and the generated samples; use x_hat = interpolates(real, fake, eps).")
    if drawn.min() < -1e-6 or drawn.max() > 1 + 1e-6:
        fail(task, f"{case}: the weights eps range over [{drawn.min():.2f}, {drawn.max():.2f}]; draw them "
                   "uniformly from [0, 1] with torch.rand (torch.randn is a normal distribution).")
    if drawn.std() < 0.05:
        fail(task, f"{case}: all samples were mixed with the same eps = {drawn.mean():.3f}; draw one "
                   "eps per sample, torch.rand(N).")
    compare(task, case, to_float(task, got, case), _penalty(x_hat, 10.0))
    passed(task, f"lam * mean (||grad f(x_hat_i)|| - 1)^2 on the interpolates; on the tanh network it is "
                 f"{reference.item():.4f} and its gradient for the weights has norm {size:.4f}")


# ----------------------------------------------------------------------------- Task 4
def critic_step(fn) -> None:
    """``fn(critic, optimizer, real, fake, lam)``: one step on :math:`\\mathcal L_f + \\lambda\\,\\mathbb E(\\|\\nabla f(\\hat x)\\| - 1)^2`; returns the loss before the step."""
    task = "critic_step"
    lr = 0.01
    real, fake = shift_batch(1.0, 6)
    for lam in (10.0, 2.0):
        critic = linear_critic(2, 2.0)
        before = copy.deepcopy(critic)
        optimizer = torch.optim.SGD(critic.parameters(), lr=lr)
        for p in critic.parameters():  # gradients left over from an earlier step
            p.grad = torch.ones_like(p)
        case = f"critic_step with a linear critic, ||w|| = 2, SGD lr = {lr}, lam = {lam}"
        if lam == 10.0:
            got = _call(task, case, fn, critic, optimizer, real.clone(), fake.clone())
        else:
            got = _call(task, case, fn, critic, optimizer, real.clone(), fake.clone(), lam=lam)

        def moved(lam_used, sign_loss=1.0, sign_penalty=1.0, stale=0.0, net=before):
            """Parameters after one SGD step on sign_loss * L_f + sign_penalty * GP (closed form)."""
            ref = copy.deepcopy(net)
            w = ref.weight
            loss = ref(fake).mean() - ref(real).mean()
            penalty = lam_used * (w.norm() - 1) ** 2
            grads = torch.autograd.grad(sign_loss * loss + sign_penalty * penalty, list(ref.parameters()))
            return torch.cat([(p - lr * (g + stale)).detach().flatten() for p, g in zip(ref.parameters(), grads, strict=True)])

        after = torch.cat([p.detach().flatten() for p in critic.parameters()])
        start = torch.cat([p.detach().flatten() for p in before.parameters()])
        mistakes = {
            "The old gradients were added to the new ones: call optimizer.zero_grad() before backward().":
                moved(lam, stale=1.0),
            "The weights did not move: call loss.backward() and then optimizer.step().": start,
            "The step ignored the gradient penalty: the critic minimises critic_loss + gradient_penalty.":
                moved(0.0),
            "The penalty was subtracted; the critic minimises critic_loss + gradient_penalty.":
                moved(lam, sign_penalty=-1.0),
            "The critic loss has the wrong sign (real and fake swapped?): the critic minimises "
            "mean f(fake) - mean f(real).": moved(lam, sign_loss=-1.0),
        }
        if lam != 10.0:
            mistakes["That is the step with lam = 10: pass the argument lam on to gradient_penalty."] = moved(10.0)
        stepped = moved(lam)
        compare(task, f"the weights and bias after {case}", after, stepped, mistakes)
        with torch.no_grad():
            pre = (before(fake).mean() - before(real).mean() + lam * (before.weight.norm() - 1) ** 2).item()
            post_net = copy.deepcopy(before)
            for p, value in zip(post_net.parameters(), stepped.split([2, 1]), strict=True):
                p.copy_(value.reshape(p.shape))
            post = (post_net(fake).mean() - post_net(real).mean() + lam * (post_net.weight.norm() - 1) ** 2).item()
        if isinstance(got, torch.Tensor):
            fail(task, f"{case} returned a tensor; return the loss as a Python number, loss.item(), so that "
                       "the training loop does not keep the graph alive.")
        compare(task, f"the loss returned by {case}", to_float(task, got, case), pre, {
            "That is the loss after the step; return the loss the step was computed from.": post,
            "That is the critic loss alone; return critic_loss + gradient_penalty.": pre - lam * (before.weight.norm().item() - 1) ** 2,
        })
        if lam == 10.0:
            report = f"with lam = 10 one SGD step moves (w, b) from {_fmt(start)} to {_fmt(after)}; the loss before it was {pre:.4f}"
    passed(task, report)


def _fmt(t: torch.Tensor) -> str:
    return "(" + ", ".join(f"{x:.4f}" for x in t.tolist()) + ")"
