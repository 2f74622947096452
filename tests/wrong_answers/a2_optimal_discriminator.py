"""Wrong answers for assignment 2 that its checks must catch: (function, wrong body, words of the message)."""

WRONG = [
    ("gaussian_pdf", "return torch.exp(-0.5 * ((x - mu) / sigma) ** 2)", "normalising factor"),
    ("gaussian_pdf", "return torch.exp(-0.5 * ((x - mu) / sigma) ** 2) / math.sqrt(2 * math.pi)", "factor 1/sigma is missing"),
    ("gaussian_pdf", "return torch.exp(-0.5 * (x - mu) ** 2 / sigma) / math.sqrt(2 * math.pi * sigma)", "sigma as the variance"),
    ("gaussian_pdf", "return torch.exp(-(((x - mu) / sigma) ** 2)) / (sigma * math.sqrt(2 * math.pi))", "1/2 in the exponent"),
    ("optimal_discriminator", "total = p_data + p_g\nreturn torch.where(total > 0, p_g / torch.where(total > 0, total, 1.0), 0.5)", "real data's density goes on top"),
    ("optimal_discriminator", "return p_data / p_g", "density ratio"),
    ("optimal_discriminator", "return p_data / (p_data + p_g)", "0 / 0"),
    ("optimal_discriminator", "return torch.nan_to_num(p_data / (p_data + p_g))", "1/2 (the coin flip), not 0"),
    ("value_function", "return (xlogy(p_data, d) + xlogy(p_g, d)).sum() * dx", "p_g log(1 - D)"),
    ("value_function", "return (xlogy(p_data, d) + xlogy(p_g, 1 - d)).sum()", "sum times dx"),
    ("value_function", "return (p_data * torch.log(d) + p_g * torch.log(1 - d)).sum() * dx", "0 log 0"),
    ("value_function", "return (xlogy(p_g, d) + xlogy(p_data, 1 - d)).sum() * dx", "swapped"),
    ("value_function", "return -(xlogy(p_data, d) + xlogy(p_g, 1 - d)).sum() * dx", "discriminator's loss"),
    ("kl_divergence", "return (xlogy(q, q) - xlogy(q, p)).sum() * dx", "arguments are swapped"),
    ("kl_divergence", "return (p * torch.log2(p / q)).sum() * dx", "bits"),
    ("kl_divergence", "return (xlogy(p, p) - xlogy(p, q)).sum()", "sum times dx"),
    ("kl_divergence", "return (p * torch.log(p / q)).sum() * dx", "xlogy"),
    ("js_divergence", "m = p + q\nreturn (kl_divergence(p, m, dx) + kl_divergence(q, m, dx)) / 2", "m = (p + q) / 2, not p + q"),
    ("js_divergence", "m = (p + q) / 2\nreturn kl_divergence(p, m, dx) + kl_divergence(q, m, dx)", "weighted 1/2"),
    ("js_divergence", "return (kl_divergence(p, q, dx) + kl_divergence(q, p, dx)) / 2", "symmetrised KL"),
    ("js_divergence", "m = (p + q) / 2\nreturn kl_divergence(p, m, dx)", "only KL(p || m)"),
    ("js_divergence", "m = (p + q) / 2\nreturn (kl_divergence(p, m, dx) + kl_divergence(q, m, dx)) / 2 / math.log(2)", "bits"),
]

WRONG += [
    # float32: passes on sight, and the identities below then fail by rounding
    ("gaussian_pdf", "z = (x.float() - mu) / sigma\nreturn torch.exp(-z**2 / 2) / (sigma * math.sqrt(2 * math.pi))", "compute in float64"),
]
WRONG += [
    # the trapezoid rule: right on the grid (its end terms vanish), wrong on three points
    ("value_function", "return torch.trapezoid(xlogy(p_data, d) + xlogy(p_g, 1 - d), dx=dx)", "trapezoid rule"),
]
