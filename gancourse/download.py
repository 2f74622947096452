"""Fetching one file over HTTP: all of it, checked against its SHA-256, or nothing.

:func:`download` writes what ``url`` serves into ``path`` only once every byte has arrived and
the SHA-256 of the content begins with the hex digits that end the file's name (torch.hub's
convention, ``weights-...-6726825d.pth``), atomically (:func:`gancourse.checkpoint.atomic_write`);
each wait for the server, connecting and every read, gives up after ``timeout`` seconds
(:func:`gancourse.data.download_timeout`, ``$GANCOURSE_DOWNLOAD_TIMEOUT``).
:func:`failure_reason` says in one line why a download failed.
"""

from __future__ import annotations

import hashlib
import urllib.error
import urllib.request
from pathlib import Path

from .checkpoint import atomic_write
from .data import TIMEOUT_ENV_VAR


def download(url: str, path: Path, timeout: float) -> None:
    """Fetch ``url`` into ``path``: all of it, checked, or nothing (:func:`gancourse.checkpoint.atomic_write`).

    ``timeout`` bounds each wait for the server (connecting, and every read), so a proxy
    that never answers fails after ``timeout`` seconds. The file's name ends in the first
    hex digits of its SHA-256 (torch.hub's convention), which the download must match.
    """
    expected = path.stem.rsplit("-", 1)[-1]
    opener = urllib.request.build_opener()  # reads the proxy variables now, not at first use
    with opener.open(url, timeout=timeout) as response:
        content = bytearray()
        while chunk := response.read(1 << 20):
            content += chunk
    digest = hashlib.sha256(content).hexdigest()
    if not digest.startswith(expected):
        raise ValueError(
            f"what arrived is not that file (its SHA-256 begins {digest[:8]}, "
            f"not {expected}; a truncated download or a proxy's error page)"
        )
    atomic_write(path, bytes(content))


def failure_reason(err: BaseException, timeout: float) -> str:
    """One line saying why a download failed."""
    if isinstance(err, urllib.error.HTTPError | ValueError):
        return first_line(err)  # "HTTP Error 404: Not Found", or the checksum's verdict
    reason = err.reason if isinstance(err, urllib.error.URLError) else err
    if isinstance(reason, TimeoutError):
        return f"no answer within {timeout:g} s (set {TIMEOUT_ENV_VAR} to wait longer)"
    if isinstance(reason, BaseException):
        return f"{type(reason).__name__}: {first_line(reason)}"
    return f"{type(err).__name__}: {reason}"


def first_line(err: BaseException) -> str:
    """The first line of an error's message ("" for none)."""
    return (str(err).strip().splitlines() or [""])[0]
