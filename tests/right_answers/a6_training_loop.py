"""Correct answers for assignment 6 in other styles than the solution's: (function, body)."""

RIGHT = [
    # a list instead of a tuple, and fresh noise for G's step (Algorithm 1's own choice)
    ("train_step", """for _ in range(k):
    loss_D = update_D(state, state.batches.next(), state.G(state.noise()))
loss_G = update_G(state, state.G(state.noise()))
return [loss_D, loss_G]"""),
    ("train_step", """for _ in range(k):
    x_real = state.batches.next()
    x_fake = state.G(state.noise())
    loss_D = update_D(state, x_real, x_fake)
loss_G = update_G(state, x_fake)
return loss_D.item(), loss_G.item()"""),
    # D called once on the real and fake batches together
    ("update_D", """state.opt_D.zero_grad()
logits = state.D(torch.cat([x_real, x_fake.detach()]))
real, fake = logits[: len(x_real)], logits[len(x_real) :]
loss_D = F.binary_cross_entropy_with_logits(real, torch.ones_like(real)) + F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake))
loss_D.backward()
state.opt_D.step()
return loss_D.item()"""),
]
