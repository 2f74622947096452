"""Correct answers for assignment 2 in other styles than the solution's: (function, body)."""

RIGHT = [
    ("gaussian_pdf", """return torch.distributions.Normal(mu, sigma).log_prob(x).exp()"""),
    ("gaussian_pdf", """var = sigma**2
return (2 * math.pi * var) ** -0.5 * torch.exp(-((x - mu) ** 2) / (2 * var))"""),
]
