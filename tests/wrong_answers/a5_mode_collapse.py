"""Wrong answers for assignment 5 that its checks must catch: (function, wrong body, words of the message)."""

WRONG = [
    ("nearest_mode", "distances = ((samples[:, None] - centers[None]) ** 2).sum(-1)\ndistance, index = distances.min(dim=1)\nreturn index, distance", "squared distance"),
    ("nearest_mode", "distance, index = torch.cdist(samples, centers).max(dim=1)\nreturn index, distance", "farthest mode"),
    ("coverage", "index, distance = nearest_mode(samples, centers)\ngood = distance < std\nreturn index[good].unique().numel(), good.double().mean().item()", "within 1 standard deviation"),
    ("coverage", "index, distance = nearest_mode(samples, centers)\ngood = distance < 3 * std\nreturn index.unique().numel(), good.double().mean().item()", "high-quality* sample is nearest"),
    ("coverage", "index, distance = nearest_mode(samples, centers)\ngood = distance < 3 * std\nreturn index[good].unique().numel(), good.sum().item()", "count of samples"),
    ("coverage", "index, distance = nearest_mode(samples, centers)\ngood = distance < 3 * std\nreturn int(good.sum()), good.double().mean().item()", "number of high-quality samples"),
    ("remedy", "return {}", "collapsing settings themselves"),
    # instance noise smooths a discriminator that is already too slow: it stays collapsed (book budget too)
    ("remedy", "return {\"train\": {\"instance_noise\": 0.05}}", "the target is at least 7/8 modes"),
]
