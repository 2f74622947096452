"""Is this code running to build the static website?

``make book`` sets ``GANCOURSE_SITE=1`` while Jupyter Book executes the notebooks. Code that
behaves differently on a page without a kernel asks :func:`building` : progress bars are
left out, and interactive figures are rendered in advance as a JavaScript slider instead of
an ipywidgets control that would be dead on a static page.
"""

from __future__ import annotations

import os

ENV_VAR = "GANCOURSE_SITE"


def building() -> bool:
    """True while the website is being built (``GANCOURSE_SITE=1``)."""
    return os.environ.get(ENV_VAR, "0").strip() not in ("", "0")
