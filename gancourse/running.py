"""What holds while the training loop runs, and is undone when it ends.

:func:`running` wraps :func:`gancourse.train.train`'s loop. Inside it, Ctrl-C (SIGINT)
finishes the current step instead of breaking into it, so that the checkpoint written then
holds whole steps (the loop sees ``state.stop_requested``, saves and stops; a second Ctrl-C
interrupts at once), and the speed options of the :class:`~gancourse.train.TrainConfig` are
on: ``precision="bf16"`` runs both networks' forward passes under bfloat16 autocast and
hands float32 back (the losses and penalties stay float32), ``compile`` compiles them.
Afterwards the networks, the SIGINT handler and the progress bar are as they were (closed).
"""

from __future__ import annotations

import contextlib
import functools
import signal
import threading
from collections.abc import Callable

import torch

from . import distributed


@contextlib.contextmanager
def running(state, ctrl_c_ends_the_step: bool, bar):
    """While the loop over ``state`` (a :class:`~gancourse.train.TrainingState`) runs: Ctrl-C
    ends the step (if ``ctrl_c_ends_the_step``: the loop has a checkpoint folder), and the speed
    options ``precision`` and ``compile`` are on; afterwards the networks are as they were and
    the progress bar ``bar`` is closed."""
    previous_handler = ctrl_c_finishes_the_step(state) if ctrl_c_ends_the_step else None
    networks = [distributed.bare(state.G), distributed.bare(state.D)]
    for net in networks:
        if state.config.precision == "bf16":  # an instance attribute over the class's forward
            net.forward = in_bfloat16(net.forward, state.device.type)
        if state.config.compile:
            net.compile(mode=state.config.compile)
    try:
        yield
    finally:
        bar.close()
        for net in networks:
            net.__dict__.pop("forward", None)
            net._compiled_call_impl = None
        restore_ctrl_c(previous_handler)


def in_bfloat16(forward: Callable, device_type: str) -> Callable:
    """``forward`` under bfloat16 autocast, returning float32 (the losses and penalties stay fp32)."""

    @functools.wraps(forward)
    def autocast_forward(*args, **kwargs):
        with torch.autocast(device_type, dtype=torch.bfloat16):
            return forward(*args, **kwargs).float()

    return autocast_forward


def ctrl_c_finishes_the_step(state):
    """Let Ctrl-C (SIGINT) finish the current step: it sets ``state.stop_requested``, and the
    loop saves that step and stops; a second Ctrl-C interrupts at once.

    Returns the handler it replaced, or None where it replaced none: only the main thread's
    default handler is replaced, or one marked ``raises_keyboard_interrupt`` as the command
    line's is (a notebook's or an application's own is left alone), and
    not under ``torchrun``, where the ranks could stop at different steps (the periodic
    checkpoints serve there).
    """
    if threading.current_thread() is not threading.main_thread() or state.world.size > 1:
        return None
    current = signal.getsignal(signal.SIGINT)
    if current is not signal.default_int_handler and not getattr(current, "raises_keyboard_interrupt", False):
        return None

    def handler(signum, frame):
        if state.stop_requested:
            raise KeyboardInterrupt
        state.stop_requested = True

    return signal.signal(signal.SIGINT, handler)


def restore_ctrl_c(previous_handler) -> None:
    """Put back the SIGINT handler that :func:`ctrl_c_finishes_the_step` replaced (None: it replaced none)."""
    if previous_handler is not None:
        signal.signal(signal.SIGINT, previous_handler)
