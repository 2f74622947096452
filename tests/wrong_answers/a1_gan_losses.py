"""Wrong answers for assignment 1 that its checks must catch: (function, wrong body, words of the message)."""

WRONG = [
    ("bce", "return (y * torch.log(y_hat) + (1 - y) * torch.log(1 - y_hat)).mean()", "minus sign"),
    ("bce", "return -(y * torch.log10(y_hat) + (1 - y) * torch.log10(1 - y_hat)).mean()", "base 10"),
    ("bce", "return -(y * torch.log(y_hat) + (1 - y) * torch.log(1 - y_hat)).sum()", "sum over the batch"),
    ("bce", "return -((1 - y) * torch.log(y_hat) + y * torch.log(1 - y_hat)).mean()", "labels are swapped"),
    ("d_loss", "return bce(torch.cat([d_real, d_fake]), torch.cat([torch.ones_like(d_real), torch.zeros_like(d_fake)]))", "mean BCE of the whole batch"),
    ("d_loss", "return bce(d_real, torch.zeros_like(d_real)) + bce(d_fake, torch.ones_like(d_fake))", "labels are swapped"),
    ("d_loss", "return bce(d_real, torch.ones_like(d_real))", "only the real half"),
    ("g_loss_saturating", "return -torch.log(1 - d_fake).mean()", "D's loss on the fakes"),
    ("g_loss_saturating", "return -torch.log(d_fake).mean()", "non-saturating loss"),
    ("g_loss_nonsaturating", "return torch.log(d_fake).mean()", "minus sign"),
    ("g_loss_nonsaturating", "return torch.log(1 - d_fake).mean()", "saturating loss"),
    ("logit_gradient",
     "q = torch.tensor([p], dtype=f64, requires_grad=True)\ng_loss(q).backward()\nreturn q.grad.item()", "respect to p"),
]
