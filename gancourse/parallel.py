"""Independent runs in parallel processes: five seeds should not cost five times one.

The course's toy GANs are small enough that one CPU core trains one of them at full speed
(more threads only add overhead), so on a machine with several cores independent runs, such
as the seeds of an experiment, go fastest side by side, one process and one thread each::

    from gancourse import parallel, remedies

    results = parallel.map(remedies.train_and_measure, [dict(preset="grid", remedy="gan", seed=s, steps=2_000)
                                                        for s in range(5)])

Each job is a dict of keyword arguments for ``fn``; results come back in the order of the
jobs. Workers are started with ``spawn`` (fresh interpreters: safe after PyTorch has started
its own threads, and the same on Linux, macOS and Windows), so ``fn`` must be importable
from a module, not defined in a notebook. A run in a worker computes exactly what it would
compute in the calling process with one thread: the seeds fix everything.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_EXCEPTION, ProcessPoolExecutor, wait
from typing import Any

import torch

from .settings import env_count

ENV_VAR = "GANCOURSE_WORKERS"


def cpu_count() -> int:
    """CPU cores this process may run on (its affinity mask, not the machine's total)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def default_workers(n_jobs: int) -> int:
    """Worker processes for ``n_jobs`` jobs: ``GANCOURSE_WORKERS`` if set, else one per core, at most one per job."""
    workers = env_count(ENV_VAR, cpu_count(), 1, "a number of workers; set it to 1, 2, ... or unset it.")
    return max(1, min(workers, n_jobs))


def _one_thread() -> None:
    # Always one: workers already fill the cores, and more threads per worker oversubscribe
    # them (two workers of two threads on two cores ran 7x slower than of one thread each).
    torch.set_num_threads(1)


def _call(fn: Callable[..., Any], kwargs: dict) -> Any:
    return fn(**kwargs)


def map(fn: Callable[..., Any], jobs: Iterable[dict], workers: int | None = None) -> list:  # noqa: A001
    """``[fn(**job) for job in jobs]``, computed in ``workers`` processes of one thread each.

    Args:
        fn: a function importable from a module (it is sent to the workers by name).
        jobs: keyword arguments for each call.
        workers: processes to use; ``None``: :func:`default_workers`. With 1 (or one job)
            the calls run here, one after another, with this process's thread setting.
            Each worker runs one thread; ``GANCOURSE_THREADS`` applies only to the
            calls made here, with one worker.

    Returns:
        The results, in the order of ``jobs``. An exception in a job is raised here.

    Introduced in chapter 7.
    """
    jobs = list(jobs)
    workers = default_workers(len(jobs)) if workers is None else max(1, min(int(workers), len(jobs) or 1))
    if workers == 1:
        return [fn(**job) for job in jobs]
    context = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(workers, mp_context=context, initializer=_one_thread)
    try:
        futures = [pool.submit(_call, fn, job) for job in jobs]
        done, _ = wait(futures, return_when=FIRST_EXCEPTION)  # the first failure ends the wait
        for future in futures:
            if future in done and future.exception() is not None:
                raise future.exception()
        return [future.result() for future in futures]
    except BaseException:
        # A job failed, or Ctrl-C: stop the other workers now instead of waiting for their
        # jobs to finish (the executor has no public way to do it before Python 3.14).
        for process in list(getattr(pool, "_processes", {}).values()):
            process.terminate()
        raise
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
