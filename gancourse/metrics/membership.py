"""Does a GAN leak its training data? Membership inference with the discriminator's score.

A discriminator trained on a set of images tends to score those images higher than others
from the same distribution, the more so the fewer they were and the longer it trained. The
white-box attack of Hayes et al. (2019, LOGAN) needs nothing else: score every candidate
image with the trained discriminator and call the highest-scored ones members.
:func:`membership_attack` measures it on ``members`` (training images) and ``non_members``
(held-out images of the same distribution) in two ways:

- the **AUC**, :math:`\\Pr[s(x) > s(x')] + \\tfrac12 \\Pr[s(x) = s(x')]` for a member
  :math:`x` and a non-member :math:`x'` (the Mann-Whitney statistic): 1/2 when the scores
  cannot tell the two sets apart, 1 when every member outscores every non-member;
- LOGAN's **accuracy**: with as many members as non-members, the top half of all the scores
  is called members, and the accuracy is the fraction of the images called correctly (1/2 is
  chance).

Introduced in chapter 11.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from .inputs import device_of, require_finite, require_positive


@dataclass(frozen=True)
class MembershipAttack:
    """The result of :func:`membership_attack`."""

    auc: float  # Pr[a member outscores a non-member], ties counting one half
    accuracy: float  # LOGAN's: the top half of the scores called members
    member_scores: Tensor  # (N,) the discriminator's raw scores, on the CPU
    non_member_scores: Tensor  # (N,)

    def __str__(self) -> str:
        return f"attack AUC {self.auc:.3f}, accuracy {100 * self.accuracy:.1f} % (1/2 is chance)"


def auc(positive, negative) -> float:
    """:math:`\\Pr[p > n] + \\tfrac12 \\Pr[p = n]` over all pairs of a score ``p`` of ``positive``
    and ``n`` of ``negative``, from the ranks of all the scores together (Mann-Whitney).

    Introduced in chapter 11.
    """
    p, n = (torch.as_tensor(v, dtype=torch.float64).flatten() for v in (positive, negative))
    for name, v in (("positive", p), ("negative", n)):
        if len(v) == 0 or not torch.isfinite(v).all():
            raise ValueError(f"{name} must hold at least one score, all finite, got {len(v)} with {int((~torch.isfinite(v)).sum())} not finite")  # fmt: skip
    everything = torch.cat([p, n])
    order = everything.argsort()
    ranks = torch.empty_like(everything)
    ranks[order] = torch.arange(1, len(everything) + 1, dtype=torch.float64)
    values, inverse = everything.unique(return_inverse=True)  # ties share the mean of their ranks
    mean_rank = torch.zeros(len(values), dtype=torch.float64).index_add_(0, inverse, ranks)
    mean_rank /= torch.bincount(inverse, minlength=len(values)).double()
    rank_sum = mean_rank[inverse[: len(p)]].sum().item()
    return (rank_sum - len(p) * (len(p) + 1) / 2) / (len(p) * len(n))


@torch.no_grad()
def membership_attack(discriminator: nn.Module, members, non_members, batch_size: int = 500) -> MembershipAttack:
    """LOGAN's white-box attack: score ``members`` and ``non_members`` (the same number of
    images each) with ``discriminator`` and measure how well the scores tell them apart.

    Args:
        discriminator: a trained discriminator or critic (higher score: more "real"), put in
            eval mode for the scoring and restored after.
        members, non_members: tensors of the same shape, the images (or points) the
            discriminator was trained on and held-out ones.
        batch_size: images per forward pass.

    Returns:
        A :class:`MembershipAttack`: the AUC (:func:`auc`) and LOGAN's accuracy.

    Introduced in chapter 11.
    """
    members, non_members = (torch.as_tensor(v.detach().cpu() if isinstance(v, Tensor) else v, dtype=torch.float32)
                            for v in (members, non_members))  # fmt: skip
    if members.shape != non_members.shape or members.dim() < 2 or len(members) == 0:
        raise ValueError(f"members and non_members must hold the same number (>= 1) of samples of one shape, got {tuple(members.shape)} and {tuple(non_members.shape)}")  # fmt: skip
    require_finite(members, "members")
    require_finite(non_members, "non_members")
    require_positive(batch_size, "batch_size", integer=True)
    device, training = device_of(discriminator), discriminator.training
    discriminator.eval()
    try:
        scores = [torch.cat([discriminator(x[i : i + batch_size].to(device)).flatten().float().cpu()
                             for i in range(0, len(x), batch_size)]) for x in (members, non_members)]  # fmt: skip
    finally:
        discriminator.train(training)
    if len(scores[0]) != len(members):
        raise ValueError(f"discriminator must return one score per sample; it gave {len(scores[0])} for {len(members)} samples")  # fmt: skip
    every = torch.cat(scores)
    called = torch.zeros(len(every), dtype=torch.bool)
    called[every.argsort(descending=True, stable=True)[: len(members)]] = True  # the top half: members
    correct = int(called[: len(members)].sum()) + int((~called[len(members) :]).sum())
    return MembershipAttack(auc(*scores), correct / len(every), *scores)
