"""Wrong answers for assignment 6 that its checks must catch: (function, wrong body, words of the message)."""

BCE = "F.binary_cross_entropy_with_logits"
D_STEP = """state.opt_D.zero_grad()
real, fake = state.D(x_real), state.D({fake})
loss_D = {loss}
loss_D.backward()
state.opt_D.step()
return loss_D.detach()"""
RIGHT_D = f"{BCE}(real, torch.ones_like(real)) + {BCE}(fake, torch.zeros_like(fake))"
G_STEP = """state.opt_G.zero_grad()
fake = state.D(x_fake)
loss_G = {loss}
loss_G.backward()
state.opt_G.step()
return loss_G.detach()"""
RIGHT_G = f"{BCE}(fake, torch.ones_like(fake))"

WRONG = [
    ("update_D", D_STEP.format(fake="x_fake", loss=RIGHT_D), "give D x_fake.detach()"),
    ("update_D", D_STEP.format(fake="x_fake.detach()", loss=f"{BCE}(fake, torch.ones_like(fake))"), "trained on G's loss"),
    ("update_D", D_STEP.format(fake="x_fake.detach()", loss=RIGHT_D).replace("state.opt_D.zero_grad()\n", ""), "call state.opt_D.zero_grad() first"),
    ("update_D", D_STEP.format(fake="x_fake.detach()", loss=f"{BCE}(real, torch.zeros_like(real)) + {BCE}(fake, torch.ones_like(fake))"), "labels are swapped"),
    ("update_D", D_STEP.format(fake="x_fake.detach()", loss=f"{BCE}(real, torch.ones_like(real))"), "Only the real half"),
    ("update_D", D_STEP.format(fake="x_fake.detach()", loss=RIGHT_D).replace("state.opt_D.step()", "state.opt_D.step()\nstate.opt_G.step()"), "changed G's weights"),
    ("update_D", D_STEP.format(fake="x_fake.detach()", loss=RIGHT_D).replace("return loss_D.detach()", "return real.mean()"), "D's loss before its step"),
    ("update_G", G_STEP.format(loss=f"-{BCE}(fake, torch.zeros_like(fake))"), "saturating loss"),
    ("update_G", G_STEP.format(loss=f"{BCE}(fake, torch.zeros_like(fake))"), "learned to look fake"),
    ("update_G", G_STEP.format(loss=RIGHT_G).replace("state.opt_G.step()", "state.opt_G.step()\nstate.opt_D.step()"), "changed D's weights"),
    ("update_G", G_STEP.format(loss=RIGHT_G).replace("state.opt_G.zero_grad()\n", ""), "call state.opt_G.zero_grad() first"),
    ("update_G", G_STEP.format(loss=RIGHT_G).replace("state.opt_G.step()\n", ""), "did not change"),
    ("train_step", """x_fake = state.G(state.noise())
for _ in range(k):
    loss_D = update_D(state, state.batches.next(), x_fake)
loss_G = update_G(state, x_fake)
return loss_D, loss_G""", "drawn once for all"),
    ("train_step", """x_real = state.batches.next()
for _ in range(k):
    x_fake = state.G(state.noise())
    loss_D = update_D(state, x_real, x_fake)
loss_G = update_G(state, x_fake)
return loss_D, loss_G""", "needs its own"),
    ("train_step", """for _ in range(k):
    x_fake = state.G(state.noise())
    loss_D = update_D(state, state.batches.next(), x_fake)
    loss_G = update_G(state, x_fake)
return loss_D, loss_G""", "expected 3 and 1"),
    ("train_step", """for _ in range(k):
    x_fake = state.G(state.noise())
    loss_D = update_D(state, state.batches.next(), x_fake)
update_G(state, x_fake)""", "(loss_D, loss_G)"),
]

WRONG += [
    # the pair in the wrong order: the task's printout would read the equilibrium backwards
    ("train_step", """for _ in range(k):
    x_real = state.batches.next()
    x_fake = state.G(state.noise())
    loss_D = update_D(state, x_real, x_fake)
loss_G = update_G(state, x_fake)
return loss_G, loss_D""", "which is (loss_G, loss_D)"),
    # G's step on a detached batch: the step is called, but no gradient reaches G
    ("update_G", G_STEP.format(loss=RIGHT_G).replace("state.D(x_fake)", "state.D(x_fake.detach())"), "no gradient reached them"),
]
