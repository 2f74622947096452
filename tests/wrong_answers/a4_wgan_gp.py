"""Wrong answers for assignment 4 that its checks must catch: (function, wrong body, words of the message)."""


def _penalty(points="interpolates(real, fake, eps)", draw="torch.rand(real.shape[0], dtype=real.dtype)",
             scores="critic(x_hat).sum()", graph=", create_graph=True", norms="g.flatten(start_dim=1).norm(dim=1)",
             value="lam * ((norms - 1) ** 2).mean()", leaf=".detach().requires_grad_(True)"):
    """A gradient_penalty body with one part replaced."""
    return "\n".join([
        "if eps is None:",
        f"    eps = {draw}",
        f"x_hat = {points}{leaf}",
        f"(g,) = torch.autograd.grad({scores}, x_hat{graph})",
        f"norms = {norms}",
        f"return {value}",
    ])


def _step(loss="critic_loss(critic(real), critic(fake)) + gradient_penalty(critic, real, fake, lam=lam)",
          zero="optimizer.zero_grad()", result="loss.item()", extra=""):
    """A critic_step body with one part replaced."""
    lines = [zero, f"loss = {loss}", "loss.backward()", "optimizer.step()", extra, f"return {result}"]
    return "\n".join(line for line in lines if line)


WRONG = [
    ("critic_loss", "return f_real.mean() - f_fake.mean()", "sign is flipped"),
    ("critic_loss", "return f_fake.sum() - f_real.sum()", "difference of sums"),
    ("critic_loss", "return -f_fake.mean()", "generator's loss"),
    ("critic_loss", "return (f_fake.mean() - f_real.mean()).item()", "no graph"),
    ("interpolates", "return eps * real + (1 - eps) * fake", "along the *last* axis"),
    ("interpolates", "e = eps[:, None]\nreturn e * real + (1 - e) * fake", "eps[:, None] only fits"),
    ("interpolates", "e = eps.reshape(-1, 1, 1, 1)\nreturn e * real + (1 - e) * fake", "one 1 per dimension"),
    ("interpolates", "e = eps.reshape((-1,) + (1,) * (real.dim() - 1))\nreturn e * fake + (1 - e) * real", "swapped"),
    ("interpolates", "return eps[0] * real + (1 - eps[0]) * fake", "first eps"),
    ("gradient_penalty", _penalty(points="real"), "on the real points"),
    ("gradient_penalty", _penalty(points="fake"), "on the generated points"),
    ("gradient_penalty", _penalty(value="lam * (g.norm() - 1) ** 2"), "whole batch"),
    ("gradient_penalty", _penalty(value="lam * ((norms**2 - 1) ** 2).mean()"), "squared norm"),
    ("gradient_penalty", _penalty(value="lam * (torch.clamp(norms - 1, min=0) ** 2).mean()"), "one-sided"),
    ("gradient_penalty", _penalty(value="((norms - 1) ** 2).mean()"), "without the weight lam"),
    ("gradient_penalty", _penalty(value="lam * ((norms - 1) ** 2).sum()"), "sum over the batch"),
    ("gradient_penalty", _penalty(value="10.0 * ((norms - 1) ** 2).mean()"), "use the argument lam"),
    ("gradient_penalty", _penalty(value="lam * (norms ** 2).mean()"), "as R1 does"),
    ("gradient_penalty", _penalty(graph=""), "create_graph=True"),
    ("gradient_penalty", _penalty(scores="critic(x_hat).mean()"), "*mean* of the scores"),
    ("gradient_penalty", _penalty(norms="g.norm(dim=1)"), "dimension 1 only"),
    ("gradient_penalty", _penalty(leaf=""), "requires_grad_(True)"),
    ("gradient_penalty", _penalty(draw="torch.randn(real.shape[0], dtype=real.dtype)"), "torch.randn"),
    ("gradient_penalty", _penalty(draw="torch.rand(1, dtype=real.dtype).expand(real.shape[0])"), "same eps"),
    ("critic_step", _step(zero=""), "zero_grad()"),
    ("critic_step", _step(loss="critic_loss(critic(real), critic(fake))"), "ignored the gradient penalty"),
    ("critic_step", _step(loss="critic_loss(critic(real), critic(fake)) - gradient_penalty(critic, real, fake, lam=lam)"), "subtracted"),
    ("critic_step", _step(loss="critic_loss(critic(fake), critic(real)) + gradient_penalty(critic, real, fake, lam=lam)"), "wrong sign"),
    ("critic_step", _step(loss="critic_loss(critic(real), critic(fake)) + gradient_penalty(critic, real, fake)"), "pass the argument lam"),
    ("critic_step", _step(result="loss"), "loss.item()"),
    ("critic_step", _step(extra="loss = critic_loss(critic(real), critic(fake)) + gradient_penalty(critic, real, fake, lam=lam)"), "after the step"),
    ("critic_step", "optimizer.zero_grad()\nloss = critic_loss(critic(real), critic(fake)) + gradient_penalty(critic, real, fake, lam=lam)\nreturn loss.item()", "did not move"),
]

WRONG += [
    # writes into the caller's real batch: critic_step would later fail with PyTorch's in-place error
    ("interpolates", "e = eps.reshape((-1,) + (1,) * (real.dim() - 1))\nreal.mul_(e).add_((1 - e) * fake)\nreturn real", "changed its input real in place"),
]
WRONG += [
    # subtracting the batches sample by sample: they differ in size, and the hint is about them, not eps
    ("critic_loss", "return (f_fake - f_real).mean()", "take the mean of each"),
]
