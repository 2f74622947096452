"""Wrong answers for assignment 7 that its checks must catch: (function, wrong body, words of the message)."""

_FRECHET_TAIL = "return (mu_a - mu_b).pow(2).sum() + cov_a.trace() + cov_b.trace() - 2 * tr"
_FLOOR_HEAD = "perm = torch.randperm(len(features), generator=generator)\n"

WRONG = [
    ("gaussian_stats", "mu = features.mean(dim=0)\ncentred = features - mu\nreturn mu, centred.T @ centred / len(features)", "the biased covariance"),
    ("gaussian_stats", "return features.mean(dim=0), torch.cov(features)", "pass features.T"),
    ("gaussian_stats", "return features.mean(dim=0), features.T @ features / (len(features) - 1)", "without subtracting the mean"),
    ("gaussian_stats", "return features.mean(dim=1), torch.cov(features.T)", "average over the samples, dim=0"),
    ("sqrtm_psd", "return matrix.sqrt()", "square root of each entry"),
    ("sqrtm_psd", "return torch.linalg.cholesky(matrix)", "Cholesky factor"),
    ("sqrtm_psd", "lam, V = torch.linalg.eigh(matrix)\nreturn V @ torch.diag(lam) @ V.T", "the matrix itself"),
    ("sqrtm_psd", "lam, V = torch.linalg.eigh(matrix)\nreturn V.T @ torch.diag(lam.clamp(min=0).sqrt()) @ V", "not Vᵀ diag(√λ) V"),
    ("sqrtm_psd", "lam, V = torch.linalg.eigh(matrix)\nreturn V @ torch.diag(lam.sqrt()) @ V.T", "clamp the eigenvalues at 0"),
    ("frechet_distance", "root = sqrtm_psd(cov_a)\ntr = sqrtm_psd(root @ cov_b @ root).trace()\nreturn (mu_a - mu_b).pow(2).sum() + cov_a.trace() + cov_b.trace() - tr", "needs its factor 2"),
    ("frechet_distance", "root = sqrtm_psd(cov_a)\ntr = sqrtm_psd(root @ cov_b @ root).trace()\nreturn ((mu_a - mu_b).pow(2).sum() + cov_a.trace() + cov_b.trace() - 2 * tr).sqrt()", "no square root"),
    ("frechet_distance", "root = sqrtm_psd(cov_a)\ntr = sqrtm_psd(root @ cov_b @ root).trace()\nreturn (mu_a - mu_b).norm() + cov_a.trace() + cov_b.trace() - 2 * tr", "*squared* difference of the means"),
    ("frechet_distance", "tr = (sqrtm_psd(cov_a) @ sqrtm_psd(cov_b)).trace()\n" + _FRECHET_TAIL, "unless the two commute"),
    ("frechet_distance", "tr = (cov_a @ cov_b).sqrt().trace()\n" + _FRECHET_TAIL, "square root of each entry of Σa Σb"),
    ("frechet_distance", "tr = sqrtm_psd(cov_a @ cov_b).trace()\n" + _FRECHET_TAIL, "reads only one triangle"),
    ("frechet_floor", _FLOOR_HEAD + "a = features[perm[:n]]\nreturn frechet_distance(*gaussian_stats(a), *gaussian_stats(a))", "the same rows"),
    ("frechet_floor", _FLOOR_HEAD + "a, b = features[perm[: n // 2]], features[perm[n // 2 : n]]\nreturn frechet_distance(*gaussian_stats(a), *gaussian_stats(b))", "into two halves"),
    ("frechet_floor", _FLOOR_HEAD + "a = features[perm[:n]]\nreturn frechet_distance(*gaussian_stats(a), *gaussian_stats(features))", "which contains it"),
    ("frechet_floor", "a, b = features[:n], features[n : 2 * n]\nreturn frechet_distance(*gaussian_stats(a), *gaussian_stats(b))", "the first n rows and the next n rows"),
    ("frechet_floor", "perm = torch.randperm(len(features))\na, b = features[perm[:n]], features[perm[n : 2 * n]]\nreturn frechet_distance(*gaussian_stats(a), *gaussian_stats(b))", "did not come from the generator"),
    ("kth_neighbour_radii", "return torch.cdist(x, x).sort(dim=1).values[:, k - 1]", "x itself"),
    ("kth_neighbour_radii", "return torch.cdist(x, x).sort(dim=1).values[:, k + 1]", "(k+1)-th neighbour"),
    ("kth_neighbour_radii", "squared = ((x[:, None] - x[None]) ** 2).sum(-1)\nreturn squared.sort(dim=1).values[:, k]", "squared distances"),
    ("kth_neighbour_radii", "return torch.cdist(x, x).sort(dim=1).values[:, 1 : k + 1].mean(dim=1)", "mean distance to the k nearest"),
    ("kth_neighbour_radii", "d = torch.cdist(x, x)\nreturn torch.stack([row[row > 0].sort().values[k - 1] for row in d])", "A duplicate of a point"),
    ("precision_recall", "r_real, r_fake = kth_neighbour_radii(real, k), kth_neighbour_radii(fake, k)\nrecall = (torch.cdist(fake, real) <= r_real).any(dim=1).double().mean()\nprecision = (torch.cdist(real, fake) <= r_fake).any(dim=1).double().mean()\nreturn precision, recall", "That is the recall"),
    ("precision_recall", "r_real, r_fake = kth_neighbour_radii(real, k), kth_neighbour_radii(fake, k)\nprecision = (torch.cdist(fake, real) < r_real).any(dim=1).double().mean()\nrecall = (torch.cdist(real, fake) < r_fake).any(dim=1).double().mean()\nreturn precision, recall", "compare with <=, not <"),
    ("precision_recall", "r_real, r_fake = kth_neighbour_radii(real, k), kth_neighbour_radii(fake, k)\nprecision = (torch.cdist(fake, real) ** 2 <= r_real).any(dim=1).double().mean()\nrecall = (torch.cdist(real, fake) ** 2 <= r_fake).any(dim=1).double().mean()\nreturn precision, recall", "not squared distances"),
    ("precision_recall", "r_real, r_fake = kth_neighbour_radii(real, k), kth_neighbour_radii(fake, k)\nprecision = (torch.cdist(fake, real) <= r_fake).any(dim=1).double().mean()\nrecall = (torch.cdist(real, fake) <= r_real).any(dim=1).double().mean()\nreturn precision, recall", "that set's radii"),
    ("precision_recall", "precision = (torch.cdist(fake, real).min(dim=1).values <= kth_neighbour_radii(fake, k)).double().mean()\nrecall = (torch.cdist(real, fake).min(dim=1).values <= kth_neighbour_radii(real, k)).double().mean()\nreturn precision, recall", "not the radius of the point being tested"),
    ("precision_recall", "r_real, r_fake = kth_neighbour_radii(real, k), kth_neighbour_radii(fake, k)\nprecision = (torch.cdist(fake, real) <= r_real).all(dim=1).double().mean()\nrecall = (torch.cdist(real, fake) <= r_fake).all(dim=1).double().mean()\nreturn precision, recall", "at least one* ball"),
    ("precision_recall", "r_real, r_fake = kth_neighbour_radii(real, k), kth_neighbour_radii(fake, k)\nprecision = (torch.cdist(fake, fake) <= r_fake).any(dim=1).double().mean()\nrecall = (torch.cdist(real, real) <= r_real).any(dim=1).double().mean()\nreturn precision, recall", "their own manifold"),
]

WRONG += [
    # each radius lined up with the tested point's row instead of its ball's column
    ("precision_recall", "r_real, r_fake = kth_neighbour_radii(real, k), kth_neighbour_radii(fake, k)\nprecision = (torch.cdist(fake, real) <= r_real[:, None]).any(dim=1).double().mean()\nrecall = (torch.cdist(real, fake) <= r_fake[:, None]).any(dim=1).double().mean()\nreturn precision, recall", "radius j belongs to column j"),
]
