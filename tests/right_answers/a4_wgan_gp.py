"""Correct answers for assignment 4 in other styles than the solution's: (function, body)."""

RIGHT = [
    # one sample at a time: the same values and the same gradients for the critic's weights
    ("gradient_penalty", """if eps is None:
    eps = torch.rand(real.shape[0], dtype=real.dtype, device=real.device)
terms = []
for i in range(real.shape[0]):
    x_hat = interpolates(real[i : i + 1], fake[i : i + 1], eps[i : i + 1]).detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(x_hat).sum(), x_hat, create_graph=True)
    terms.append((grad.norm() - 1) ** 2)
return lam * torch.stack(terms).mean()"""),
    ("interpolates", """e = eps.view(len(eps), *([1] * (real.dim() - 1)))
return torch.lerp(fake, real, e)"""),
    ("interpolates", """out = fake.clone()
for i in range(len(eps)):
    out[i] = eps[i] * real[i] + (1 - eps[i]) * fake[i]
return out"""),
]
