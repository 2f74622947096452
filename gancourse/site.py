"""Is this code running to build the static website?

``make book`` sets ``GANCOURSE_SITE=1`` while Jupyter Book executes the notebooks. Code that
behaves differently on a page without a kernel asks :func:`building` : progress bars are
left out, and interactive figures are rendered in advance as a JavaScript slider instead of
an ipywidgets control that would be dead on a static page.

:func:`glue` hands a number or a table computed by a notebook to the page's prose (myst-nb's
``{glue:text}`` role and ``{glue:md}`` directive), so no result of a run is typed by hand.
"""

from __future__ import annotations

import os

ENV_VAR = "GANCOURSE_SITE"


def building() -> bool:
    """True while the website is being built (``GANCOURSE_SITE=1``)."""
    return os.environ.get(ENV_VAR, "0").strip() not in ("", "0")


GLUE_PREFIX = "application/papermill.record/"  # the mime-type prefix myst-nb reads glued values from


def glue(name: str, value, display: bool = False) -> None:
    """Record ``value`` under ``name`` for the website's prose, as ``myst_nb.glue`` does.

    The value's display forms (``text/plain``, and ``text/markdown`` for an
    ``IPython.display.Markdown``) are sent as a hidden output of the cell; when the site is
    built, ``{glue:text}`name``` (with a format such as ``name:.1f`` for a number) and
    ``{glue:md} name`` put them into the text. Works without myst-nb installed (on Colab):
    there the output is simply hidden, or shown with ``display=True``.

    Introduced in chapter 1.
    """
    from IPython.core.formatters import format_display_data
    from IPython.display import display as ipython_display

    if getattr(value, "ndim", None) == 0 and hasattr(value, "item"):
        value = value.item()  # a NumPy or PyTorch scalar: glue the plain number (repr "2.5", not "np.float64(2.5)")
    bundle, metadata = format_display_data(value)
    prefix = "" if display else GLUE_PREFIX
    metadata["scrapbook"] = {"name": name, "mime_prefix": prefix}
    ipython_display({prefix + mime: data for mime, data in bundle.items()}, raw=True, metadata=metadata)
