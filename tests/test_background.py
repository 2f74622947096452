"""The background jobs' process starts: a start that fails for a moment is tried again.

The failures are injected through ``popen``'s ``start``, not by patching ``subprocess``:
the background jobs start processes of their own while these tests run.
"""

from __future__ import annotations

import errno
import subprocess
import sys

import background
import pytest


def failing(*codes: int):
    """A ``start`` that fails with the errors ``codes`` in turn, then starts the process;
    its ``tries`` lists every call."""

    def start(args, **kwargs):
        start.tries.append(args)
        if len(start.tries) <= len(codes):
            raise OSError(codes[len(start.tries) - 1], "injected", args[0])
        return subprocess.Popen(args, **kwargs)

    start.tries = []
    return start


def run(args, start, pauses):
    with background.popen(args, start=start, pause=pauses.append, stdout=subprocess.PIPE, text=True) as p:
        return p.communicate(timeout=60)[0]


def test_a_start_that_fails_with_bad_address_is_tried_again(monkeypatch):
    monkeypatch.setattr(subprocess, "_USE_VFORK", True, raising=False)
    start, pauses = failing(errno.EFAULT, errno.EAGAIN), []
    assert run([sys.executable, "-c", "print('started')"], start, pauses).strip() == "started"
    assert len(start.tries) == 3 and pauses == [2, 4]
    assert subprocess._USE_VFORK is False  # the tries after a failed start fork


def test_a_start_that_keeps_failing_raises_after_the_last_try():
    start, pauses = failing(*[errno.EFAULT] * background.START_TRIES), []
    with pytest.raises(OSError) as raised:
        run([sys.executable, "-c", "pass"], start, pauses)
    assert raised.value.errno == errno.EFAULT
    assert len(start.tries) == background.START_TRIES


def test_a_missing_program_is_not_tried_again():
    start, pauses = failing(errno.ENOENT), []
    with pytest.raises(FileNotFoundError):
        run(["no-such-program"], start, pauses)
    assert len(start.tries) == 1 and not pauses


def test_call_starts_through_popen(monkeypatch):
    seen = []
    monkeypatch.setattr(background, "popen", lambda args, **kw: seen.append(args) or subprocess.Popen(args, **kw))
    assert background.call([sys.executable, "-c", "print(7)"], timeout=60).stdout.strip() == "7"
    assert [sys.executable, "-c", "print(7)"] in seen
