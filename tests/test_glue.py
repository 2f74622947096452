"""Numbers and tables computed by a notebook reach the website's prose through myst-nb's glue."""

import numpy as np
import torch
from IPython.display import Markdown

from gancourse import site


def test_glue_sends_a_hidden_output_that_myst_nb_reads(monkeypatch):
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda *args, **kwargs: shown.append((args, kwargs)))
    site.glue("gain", np.float64(6.5))
    site.glue("modes", torch.tensor(7))
    site.glue("table", Markdown("| a |\n|---|\n| 1 |"), display=True)
    (gain, gain_kwargs), (modes, _), (table, table_kwargs) = shown
    prefix = site.GLUE_PREFIX
    assert gain[0] == {prefix + "text/plain": "6.5"}  # the plain number, not "np.float64(6.5)"
    assert gain_kwargs == {"raw": True, "metadata": {"scrapbook": {"name": "gain", "mime_prefix": prefix}}}
    assert modes[0] == {prefix + "text/plain": "7"}
    assert table[0]["text/markdown"] == "| a |\n|---|\n| 1 |"  # shown too: display=True has no prefix
    assert table_kwargs["metadata"]["scrapbook"] == {"name": "table", "mime_prefix": ""}


def test_the_glue_protocol_is_the_one_myst_nb_reads():
    from myst_nb.ext.glue import GLUE_PREFIX

    assert site.GLUE_PREFIX == GLUE_PREFIX
