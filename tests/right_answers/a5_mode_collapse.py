"""Correct answers for assignment 5 in other styles than the solution's: (function, body)."""

RIGHT = [
    # the fraction in float32, as a Python number or as a tensor
    ("coverage", """index, distance = nearest_mode(samples, centers)
good = distance < 3 * std
return index[good].unique().numel(), good.float().mean().item()"""),
    ("coverage", """index, distance = nearest_mode(samples, centers)
good = distance < 3 * std
return len(set(index[good].tolist())), (good.sum() / len(good)).item()"""),
    ("coverage", """index, distance = nearest_mode(samples, centers)
good = distance < 3 * std
return torch.unique(index[good]).shape[0], good.float().mean()"""),
    ("nearest_mode", """d2 = ((samples[:, None, :] - centers[None, :, :]) ** 2).sum(-1)
index = d2.argmin(dim=1)
return index, d2.gather(1, index[:, None]).squeeze(1).sqrt()"""),
    # a list for the pair
    ("nearest_mode", """distance, index = torch.cdist(samples, centers).min(dim=1)
return [index, distance]"""),
]
