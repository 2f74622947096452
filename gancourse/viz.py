"""The course's figures: sample grids, 2-D samples, a discriminator on a grid, densities,
training curves, and animations that still play on the static website (no kernel needed).

Every function draws into the ``ax`` (or ``axes``) it is given, or into a new figure, and
returns what it drew on; only :func:`slider`'s live control in a notebook calls
``plt.show()``, to redraw each value. Tensors may live on any device.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from html import escape

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.animation import FuncAnimation
from matplotlib.axes import Axes

# How the training history's keys read on a plot (the symbols of the chapters).
LABELS = {
    "loss_D": r"$\mathcal{L}_D$",
    "loss_G": r"$\mathcal{L}_G$",
    "D_x": r"$D(x)$",
    "D_G_z": r"$D(G(z))$",
    "D_G_z_after": r"$D(G(z))$ after D's step",
    "grad_norm_D": r"$\|\nabla_{\theta_D}\|$",
    "grad_norm_G": r"$\|\nabla_{\theta_G}\|$",
}

DEFAULT_PANELS = (("loss_D", "loss_G"), ("D_x", "D_G_z"))

REAL, FAKE = "C0", "C1"  # the colours of real and generated data in every chapter
# Blue and orange stay apart for readers with red-green or blue-yellow colour blindness
# (tests/test_viz.py simulates it); the curves of one panel of plot_history differ in line
# style too, since a third colour of the default cycle (green) looks like orange to some.
LINESTYLES = ("-", "--", "-.")
STYLE = {"figure.dpi": 120, "axes.spines.top": False, "axes.spines.right": False}
DESCRIPTION = "gancourse_description"  # an artist's words for describe_axes, e.g. show_grid's image


def use_course_style(threads: int | None = 1) -> None:
    """The course's figure style (:data:`STYLE`) and CPU threads, in one call (every chapter).

    ``threads=1`` suits the course's small networks on a CPU (more threads only add
    overhead; on a GPU the setting does not matter); ``None`` leaves PyTorch's choice.

    Introduced in chapter 0.
    """
    from . import device

    plt.rcParams.update(STYLE)
    if threads is not None:
        device.set_cpu_threads(threads)


def _numpy(x) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    return np.asarray(x)


def _axes(ax: Axes | None, figsize=(5, 5)) -> Axes:
    if ax is None:
        _, ax = plt.subplots(figsize=figsize)
    return ax


def show_grid(images, nrow: int = 8, ax: Axes | None = None, title: str | None = None) -> Axes:
    """Show a batch of images as one grid (torchvision's ``make_grid``).

    Args:
        images: shape (N, 1, H, W) or (N, 3, H, W), values in [-1, 1] (a tanh generator's
            range); mapped to [0, 1] by :math:`(x + 1)/2` and clipped.
        nrow: images per row.
        ax: where to draw; a new figure if ``None``.
        title: optional title.

    Returns:
        The Axes, holding one image: greyscale (rows, cols) for one channel, RGB
        (rows, cols, 3) for three, with 2-pixel white borders between images.

    Introduced in chapter 5.
    """
    from torchvision.utils import make_grid

    x = torch.as_tensor(_numpy(images), dtype=torch.float32)
    if x.dim() != 4 or x.shape[1] not in (1, 3) or x.shape[0] == 0:
        raise ValueError(
            f"images must have shape (N, 1, H, W) or (N, 3, H, W), got {tuple(x.shape)}"
        )
    x01 = ((x + 1) / 2).clamp(0, 1)
    grid = make_grid(x01, nrow=nrow, padding=2, pad_value=1.0)  # (3, rows, cols)
    ax = _axes(ax, figsize=(6, 6 * grid.shape[1] / grid.shape[2]))
    if x.shape[1] == 1:
        image = ax.imshow(grid[0].numpy(), cmap="gray", vmin=0.0, vmax=1.0, interpolation="nearest")
    else:
        image = ax.imshow(grid.permute(1, 2, 0).numpy(), interpolation="nearest")
    n, rows = x.shape[0], -(-x.shape[0] // nrow)
    description = f"a grid of {n} images of {x.shape[2]} by {x.shape[3]} pixels, {rows} rows of {min(nrow, n)}"
    setattr(image, DESCRIPTION, description)
    ax.set_axis_off()
    if title is not None:
        ax.set_title(title)
    return ax


def plot_samples_2d(
    real=None,
    fake=None,
    centers=None,
    ax: Axes | None = None,
    lim: float | tuple[float, float] | None = None,
) -> Axes:
    """Scatter real and generated 2-D points, optionally with the mixture's mode centres.

    Args:
        real: real samples, shape (N, 2).
        fake: generated samples G(z), shape (M, 2).
        centers: mode centres, shape (K, 2), drawn as crosses.
        ax: where to draw; a new figure if ``None``.
        lim: axis limits: ``a`` for [-a, a] on both axes, or ``(lo, hi)``.

    Returns:
        The Axes (equal aspect, with a legend).

    Introduced in assignment 5.
    """
    ax = _axes(ax)
    for points, style in (
        (real, dict(s=4, alpha=0.4, color="tab:blue", label="real")),
        (fake, dict(s=4, alpha=0.4, color="tab:orange", label="generated")),
        (centers, dict(s=60, marker="x", color="black", label="mode centres")),
    ):
        if points is not None:
            p = _numpy(points)
            if p.ndim != 2 or p.shape[1] != 2:
                raise ValueError(f"points must have shape (N, 2), got {p.shape}")
            ax.scatter(p[:, 0], p[:, 1], **style)
    if lim is not None:
        lo, hi = (-lim, lim) if np.isscalar(lim) else lim
        ax.set_xlim(lo, hi)
        ax.set_ylim(lo, hi)
    ax.set_aspect("equal")
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    if ax.collections:
        ax.legend(loc="upper right", markerscale=2)
    return ax


@torch.no_grad()
def decision_grid(
    discriminator: torch.nn.Module,
    xlim: tuple[float, float],
    ylim: tuple[float, float],
    resolution: int = 100,
    squash: bool = True,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Evaluate :math:`D(x) = \\sigma(\\ell(x))` on a ``resolution`` x ``resolution`` grid.

    With ``squash=False`` the raw outputs are returned: a WGAN critic's values :math:`f(x)`,
    which no sigmoid turns into probabilities.

    The discriminator is put in eval mode for the evaluation (batch norm uses its running
    statistics and is not updated), then restored; the grid is sent to the device and dtype
    of its parameters.

    Args:
        discriminator: maps points (N, 2) to logits (N,) or (N, 1).
        xlim, ylim: (lo, hi) of the grid along :math:`x_1` and :math:`x_2`.
        resolution: grid points per axis.
        squash: apply the sigmoid (discriminators) or not (critics).

    Returns:
        ``(X1, X2, D)``, three arrays of shape (resolution, resolution) as from
        ``np.meshgrid``; ``D`` in [0, 1] when squashed.

    Introduced in chapter 2.
    """
    x1 = np.linspace(xlim[0], xlim[1], resolution)
    x2 = np.linspace(ylim[0], ylim[1], resolution)
    X1, X2 = np.meshgrid(x1, x2)
    param = next(discriminator.parameters(), None)
    device = param.device if param is not None else torch.device("cpu")
    dtype = param.dtype if param is not None else torch.float32
    points = torch.as_tensor(np.stack([X1.ravel(), X2.ravel()], axis=1), dtype=dtype, device=device)
    was_training = discriminator.training
    discriminator.eval()
    try:
        logits = discriminator(points).reshape(-1)
    finally:
        discriminator.train(was_training)
    if logits.numel() != points.shape[0]:
        raise ValueError(
            f"the discriminator returned {logits.numel()} values for {points.shape[0]} points"
        )
    values = torch.sigmoid(logits.float()) if squash else logits.float()
    D = values.cpu().numpy().reshape(X1.shape)
    return X1, X2, D


def plot_density_1d(x, densities: Mapping[str, object], ax: Axes | None = None) -> Axes:
    """Plot 1-D curves on a common grid, e.g. :math:`p_{data}`, :math:`p_g` and :math:`D^*`.

    Args:
        x: the grid, shape (n,).
        densities: label -> values of shape (n,), e.g.
            ``{"$p_{data}$": p_data, "$p_g$": p_g, "$D^*$": D_star}``.
        ax: where to draw; a new figure if ``None``.

    Returns:
        The Axes, one line per entry, with a legend.

    Introduced in chapter 3.
    """
    ax = _axes(ax, figsize=(6, 4))
    x = _numpy(x).reshape(-1)
    for label, values in densities.items():
        y = _numpy(values).reshape(-1)
        if y.shape != x.shape:
            raise ValueError(f"{label!r} has {y.size} values for a grid of {x.size} points")
        ax.plot(x, y, label=label)
    ax.set_xlabel("$x$")
    if densities:
        ax.legend()
    return ax


# Line styles that tell curves apart without their colours (WCAG 1.4.1: colour is not the
# only cue): solid, dotted, dash-dot, dashed, dealt out in turn by vary_line_styles.
LINE_CUES = ("-", ":", "-.", "--")


def vary_line_styles(ax: Axes, styles: Sequence[str] = LINE_CUES) -> Axes:
    """Give the curves of ``ax`` a line style each, in turn from ``styles``, so that they differ
    by more than colour: for a reader who does not tell the colours apart, and on paper.

    A line drawn as markers only stays so; the legend, if ``ax`` has one, follows. E.g. after
    ``plot_density_1d(x, {"$p_{data}$": ..., "$p_g$": ..., "$D^*$": ...}, ax=ax)``, the three
    curves are solid, dotted and dash-dot.

    Returns:
        The Axes.

    Introduced in chapter 3.
    """
    from matplotlib.lines import Line2D

    curves = [line for line in ax.get_lines() if line.get_linestyle() not in ("None", "none", "", " ")]
    for i, line in enumerate(curves):
        line.set_linestyle(styles[i % len(styles)])
    legend = ax.get_legend()
    if legend is not None:  # its handles are copies, made when it was drawn
        style_of = {line.get_label(): line.get_linestyle() for line in curves}
        for handle, text in zip(legend.legend_handles, legend.get_texts(), strict=False):
            if isinstance(handle, Line2D) and text.get_text() in style_of:
                handle.set_linestyle(style_of[text.get_text()])
    return ax


def moving_average(values, window: int) -> np.ndarray:
    """Mean of each run of ``window`` consecutive values: length ``len(values) - window + 1``.

    Introduced in chapter 7.
    """
    values = np.asarray(values, dtype=float)
    if values.size == 0:
        return values
    window = max(1, min(int(window), len(values)))
    return np.convolve(values, np.ones(window) / window, mode="valid")


def plot_history(
    history: Mapping[str, Sequence[float]],
    keys: Sequence[str | Sequence[str]] | None = None,
    axes: Sequence[Axes] | None = None,
    smooth: int = 1,
) -> list[Axes]:
    """Training curves from the history of :mod:`gancourse.train`, one panel per group of keys.

    By default two panels: the losses :math:`\\mathcal L_D`, :math:`\\mathcal L_G`, and the
    mean discriminator outputs :math:`D(x)` and :math:`D(G(z))` (which meet at 1/2 at the
    equilibrium of the original GAN); keys missing from ``history`` are skipped. The curves
    of a panel differ in colour and in line style (solid, dashed, dash-dotted).

    Args:
        history: dict of equal-length lists, ``"step"`` plus e.g. ``"loss_D"``, ``"loss_G"``,
            ``"D_x"``, ``"D_G_z"``, ``"grad_norm_D"``, ``"grad_norm_G"``.
        keys: panels, each a key or a list of keys, e.g. ``[["loss_D", "loss_G"], "grad_norm_D"]``;
            every key must be in ``history``.
        axes: one Axes per panel; a new figure (panels side by side) if ``None``.
        smooth: moving-average window (1 = raw values); each smoothed value is plotted at
            the last step of its window.

    Returns:
        The list of Axes, one per panel.

    Introduced in chapter 2.
    """
    if keys is None:
        panels = [[k for k in group if k in history] for group in DEFAULT_PANELS]
        panels = [p for p in panels if p]
        if not panels:
            raise ValueError(f"history has none of the keys {DEFAULT_PANELS}; pass keys=...")
    else:
        panels = [[group] if isinstance(group, str) else list(group) for group in keys]
        missing = [k for group in panels for k in group if k not in history]
        if missing:
            raise KeyError(f"history has no {missing}; it has {sorted(history)}")
    if smooth < 1:
        raise ValueError(f"smooth must be a window of >= 1 values, got {smooth}")
    if axes is None:
        _, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 3.5), squeeze=False)
        axes = list(axes[0])
    axes = list(np.ravel(axes))
    if len(axes) != len(panels):
        raise ValueError(f"{len(panels)} panels need {len(panels)} axes, got {len(axes)}")
    for ax, group in zip(axes, panels, strict=True):
        for i, key in enumerate(group):
            values = np.asarray(history[key], dtype=float)
            steps = np.asarray(history.get("step", range(len(values))), dtype=float)
            if steps.shape != values.shape:
                raise ValueError(
                    f"history[{key!r}] has {values.size} values for {steps.size} steps"
                )
            y = moving_average(values, smooth)
            linestyle = LINESTYLES[i % len(LINESTYLES)]
            ax.plot(steps[len(steps) - len(y) :], y, linestyle=linestyle, label=LABELS.get(key, key))
        ax.set_xlabel("generator step")
        ax.legend()
    return axes


# TeX commands of the figures' labels as a screen reader should read them
_TEX_WORDS = {
    "alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "epsilon": "ε", "theta": "θ",
    "lambda": "λ", "mu": "μ", "sigma": "σ", "pi": "π", "nabla": "∇", "infty": "∞",
    "cdot": "·", "times": "×", "le": "≤", "ge": "≥", "mathcal": "", "mathrm": "", "log": "log",
}


def plain_text(label: str) -> str:
    """A figure label without its TeX markup: ``"$-\\log D(x)$"`` -> ``"-log D(x)"``."""
    text = label.replace("$", "")
    text = re.sub(r"\\([A-Za-z]+)", lambda m: _TEX_WORDS.get(m.group(1), m.group(1)), text)
    text = text.replace("\\|", "‖").replace("\\", "").replace("{", "").replace("}", "")
    return re.sub(r"\s+", " ", text).strip()


def describe_axes(ax: Axes) -> str:
    """What one Axes shows, in words, for a figure's alternative text: its title, what is
    drawn (images, points, curves, filled areas), the axes' labels and the legend's entries.

    ``"t = 0.5: mean BCE 0.51. Points and curves; horizontal axis x, vertical axis loss
    (nats); legend: real, generated."``
    """
    from matplotlib.collections import PathCollection, PolyCollection

    sentences = [plain_text(ax.get_title())]
    shown = [getattr(image, DESCRIPTION, "a colour-coded image") for image in ax.images]
    if any(isinstance(c, PathCollection) and len(c.get_offsets()) for c in ax.collections):
        shown.append("points")
    if ax.lines:
        shown.append("curves")
    if any(isinstance(c, PolyCollection) for c in ax.collections) or any(
        type(c).__name__.endswith("ContourSet") for c in ax.collections
    ):
        shown.append("filled areas")
    details = []
    if shown:
        details.append(" and ".join(shown))
    xlabel, ylabel = plain_text(ax.get_xlabel()), plain_text(ax.get_ylabel())
    if xlabel:
        details.append(f"horizontal axis {xlabel}")
    if ylabel:
        details.append(f"vertical axis {ylabel}")
    entries = [plain_text(label) for label in ax.get_legend_handles_labels()[1]]
    if entries:
        details.append("legend: " + ", ".join(entries))
    if details:
        sentence = "; ".join(details)
        sentences.append(sentence[0].upper() + sentence[1:])
    return ". ".join(s.rstrip(".") for s in sentences if s) + "."


def animate(
    frames: Sequence,
    draw: Callable[[Axes, object], None],
    interval: int = 200,
    figsize: tuple[float, float] = (5, 5),
) -> FuncAnimation:
    """An animation that redraws one Axes per frame: ``draw(ax, frame)`` after clearing it.

    Pair it with :func:`animation_html` for a slider that works on the static website
    (every frame is rendered in advance). The figure is closed so that a notebook does not
    also show it as a still image; the animation keeps it alive. Each frame, once drawn, is
    described in words (:func:`describe_axes`) in the animation's ``descriptions``.

    Args:
        frames: the data of each frame (e.g. a list of generator snapshots' samples).
        draw: callback drawing one frame into the (cleared) Axes.
        interval: milliseconds between frames.
        figsize: figure size in inches.

    Returns:
        A ``matplotlib.animation.FuncAnimation`` with ``len(frames)`` frames.
    """
    frames = list(frames)
    if not frames:
        raise ValueError("an animation needs at least one frame")
    fig, ax = plt.subplots(figsize=figsize)
    descriptions: dict[int, str] = {}

    def update(i: int):
        ax.clear()
        draw(ax, frames[i])
        descriptions[i] = describe_axes(ax)
        return []

    anim = FuncAnimation(fig, update, frames=len(frames), interval=interval, blit=False)
    anim.descriptions = descriptions
    plt.close(fig)
    return anim


# matplotlib's player draws its buttons with Font Awesome icons from a CDN; offline readers
# would see empty buttons, so the icons become plain characters (hidden from screen
# readers, which read the buttons' labels) and the CDN link goes.
_PLAYER_ICONS = {
    "fa fa-minus": "\u2212",
    "fa fa-fast-backward": "|\u25c1",
    "fa fa-step-backward": "\u25c1",
    "fa fa-play fa-flip-horizontal": "\u25c0",
    "fa fa-pause": "\u2016",
    "fa fa-play": "\u25b6",
    "fa fa-step-forward": "\u25b7",
    "fa fa-fast-forward": "\u25b7|",
    "fa fa-plus": "+",
}

# Keeps the frame's description (alt text), the slider's spoken value and the value shown
# beside it in step with the frame on screen, whether the slider, a button or playback moved it.
_FOLLOW_FRAME = """<script>
(function () {{
  var alts = {alts}, values = {values};
  var img = document.getElementById("_anim_img{id}");
  var slider = document.getElementById("_anim_slider{id}");
  var shown = document.getElementById("_anim_value{id}");
  function follow() {{
    var i = Math.min(alts.length - 1, Math.max(0, parseInt(slider.value, 10) || 0));
    img.alt = alts[i];
    slider.setAttribute("aria-valuetext", values[i] + " (frame " + (i + 1) + " of " + alts.length + ")");
    shown.textContent = values[i];
  }}
  new MutationObserver(follow).observe(img, {{attributes: true, attributeFilter: ["src"]}});
  slider.addEventListener("input", follow);
}})();
</script>"""


def _value_text(value) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def _script_json(data) -> str:
    """JSON to put inside a <script> element: a "</" in a string cannot end the element."""
    return json.dumps(data).replace("</", "<\\/")


def animation_html(anim: FuncAnimation, label: str = "frame", values: Sequence | None = None) -> str:
    """The animation as self-contained HTML/JavaScript (``anim.to_jshtml()``): every frame
    embedded as a PNG, with play buttons and a slider; display it with ``IPython.display.HTML``.

    Nothing is loaded from another host (the player's icon font is replaced by characters).
    The slider is labelled ``label`` and shows the frame's value (``values``, or the frame
    number); the image's alternative text describes the frame on screen (for an animation
    made by :func:`animate`, its title, axes and legend) and follows it as it changes.
    """
    html = re.sub(r"<link[^>]*font-awesome[^>]*>", "", anim.to_jshtml())
    for icon, text in _PLAYER_ICONS.items():
        html = html.replace(f'<i class="{icon}"></i>', f'<span aria-hidden="true">{text}</span>')
    uid = re.search(r'<img id="_anim_img(\w+)"', html).group(1)
    n = len(re.findall(r"frames\[\d+\] = ", html))
    if values is None:
        values = range(1, n + 1)
    values = [_value_text(v) for v in values]
    descriptions = getattr(anim, "descriptions", {})
    alts = [
        f"{label} = {values[i]} (frame {i + 1} of {n}). {descriptions.get(i, '')}".strip()
        for i in range(n)
    ]
    img = f'<img id="_anim_img{uid}"'
    html = html.replace(f"{img}>", f'{img} alt="{escape(alts[0])}">')
    slider = f'<input id="_anim_slider{uid}"'
    html = html.replace(
        slider,
        f'<span class="anim-label"><label for="_anim_slider{uid}">{escape(label)}</label> = '
        f'<output id="_anim_value{uid}" for="_anim_slider{uid}">{escape(values[0])}</output></span>\n'
        f'    {slider} aria-valuetext="{escape(values[0])} (frame 1 of {n})"',
    )
    return html + _FOLLOW_FRAME.format(id=uid, alts=_script_json(alts), values=_script_json(values))


def slider_figure(
    draw: Callable[[Axes, object], None],
    values: Sequence,
    label: str = "value",
    figsize: tuple[float, float] = (6, 4),
    interval: int = 400,
):
    """One figure with a slider over ``values``, live in Jupyter and Colab, alive on the website.

    In a running notebook it is an ipywidgets slider that calls ``draw(ax, value)`` on a
    fresh figure; while the static website is built (:func:`gancourse.site.building`) every
    value is drawn in advance and shown with matplotlib's JavaScript slider
    (:func:`animate` + :func:`animation_html`), which needs no kernel.

    Args:
        draw: draws the figure for one value into the given Axes (no colorbars: the Axes
            is cleared between frames of the static version).
        values: the slider's positions, e.g. ``[0.0, 0.5, 1.0, 1.5]``.
        label: the slider's name.

    Returns:
        The ipywidgets control, or an ``IPython.display.HTML`` object on the website.

    Introduced in chapter 1.
    """
    from IPython.display import HTML

    from . import site

    values = list(values)
    if not values:
        raise ValueError("a slider needs at least one value")
    if site.building():
        anim = animate(values, draw, interval=interval, figsize=figsize)
        return HTML(animation_html(anim, label=label, values=values))
    import ipywidgets

    def show(value):
        _, ax = plt.subplots(figsize=figsize)
        draw(ax, value)
        plt.show()

    options = [(f"{v:.3g}" if isinstance(v, float) else str(v), v) for v in values]
    return ipywidgets.interact(show, value=ipywidgets.SelectionSlider(options=options, description=label))
