"""Work that runs beside the tests: threads, and subprocesses stopped with the test session."""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import subprocess
import threading
import time
from concurrent.futures import Future

# Starting a process can fail for a moment for reasons of the machine, not of the command:
# CI once saw ``OSError: [Errno 14] Bad address`` for this very Python, which had started
# the tests. Such a start is tried again, up to ``START_TRIES`` times in all, and from then on
# without vfork (CPython's switch for this, ``subprocess._USE_VFORK``; fork is slower, never wrong).
TRANSIENT = {errno.EFAULT, errno.EAGAIN, errno.ENOMEM}
START_TRIES = 3
children: list[subprocess.Popen] = []  # stopped with the session if still running
threads: list[threading.Thread] = []
stopping = threading.Event()


def call(cmd, *, timeout: float, **kwargs) -> subprocess.CompletedProcess:
    """``subprocess.run(cmd, capture_output=True, text=True)``, stopped with the test session."""
    if stopping.is_set():
        raise RuntimeError("the test session is ending")
    # a session of its own, so that stopping it stops its children too (kernels, pip's builds)
    pipes = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "text": True, "start_new_session": True}
    with popen([str(c) for c in cmd], **pipes, **kwargs) as p:
        children.append(p)
        try:
            out, err = p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            stop(p)
            raise
    return subprocess.CompletedProcess(p.args, p.returncode, out, err)


def popen(args: list[str], *, start=subprocess.Popen, pause=time.sleep, **kwargs) -> subprocess.Popen:
    """``start(args, **kwargs)``, tried again after a pause when it fails with an error in
    ``TRANSIENT``; any other error, or the last, is raised."""
    for attempt in range(1, START_TRIES + 1):
        try:
            return start(args, **kwargs)
        except OSError as error:
            if error.errno not in TRANSIENT or attempt == START_TRIES:
                raise
            subprocess._USE_VFORK = False
            pause(2 * attempt)
    raise AssertionError("unreachable")


def run_ok(cmd, *, timeout: float = 1800, **kwargs) -> subprocess.CompletedProcess:
    done = call(cmd, timeout=timeout, **kwargs)
    assert done.returncode == 0, f"{' '.join(map(str, cmd))} failed:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
    return done


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)


def stop_all() -> None:
    """Stop every child process; wait for the threads, which then start no new one."""
    stopping.set()
    for child in children:
        stop(child)
    for thread in threads:
        thread.join(timeout=30)


def start(fn, *args) -> Future:
    """``fn(*args)`` computed in a daemon thread; the future holds its result or its error."""
    future: Future = Future()

    def work():
        try:
            future.set_result(fn(*args))
        except BaseException as error:  # handed to the test that waits for the result
            future.set_exception(error)

    thread = threading.Thread(target=work, daemon=True)
    threads.append(thread)
    thread.start()
    return future
