"""The course's figures draw what they claim to draw."""

import math
import re

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.animation import FuncAnimation  # noqa: E402
from torch import nn  # noqa: E402

from gancourse import viz  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


# --------------------------------------------------------------------------- image grids


def test_show_grid_tiles_16_images_4_by_4_in_unit_range():
    images = torch.linspace(-1.5, 1.5, 16 * 28 * 28).reshape(16, 1, 28, 28)  # a bit out of range
    ax = viz.show_grid(images, nrow=4, title="samples")
    (image,) = ax.get_images()
    array = np.asarray(image.get_array())
    assert array.shape == (4 * 30 + 2, 4 * 30 + 2)  # 28 px + 2 px border per image, one more border
    assert array.min() == 0.0 and array.max() == 1.0
    assert image.get_cmap().name == "gray"
    assert not ax.axison and ax.get_title() == "samples"


def test_show_grid_maps_minus_one_to_black_and_one_to_white():
    images = torch.cat([-torch.ones(1, 1, 4, 4), torch.zeros(1, 1, 4, 4), torch.ones(1, 1, 4, 4)])
    array = np.asarray(viz.show_grid(images, nrow=3).get_images()[0].get_array())
    assert array.shape == (8, 20)
    assert array[2, 2] == 0.0 and array[2, 8] == 0.5 and array[2, 14] == 1.0
    assert array[0, 0] == 1.0  # white border


def test_show_grid_draws_rgb_and_into_a_given_axes():
    fig, ax = plt.subplots()
    out = viz.show_grid(torch.zeros(6, 3, 8, 8), nrow=3, ax=ax)
    assert out is ax
    assert np.asarray(ax.get_images()[0].get_array()).shape == (2 * 10 + 2, 3 * 10 + 2, 3)


def test_show_grid_rejects_wrong_shapes():
    with pytest.raises(ValueError, match="N, 1, H, W"):
        viz.show_grid(torch.zeros(4, 28, 28))


# --------------------------------------------------------------------------- 2-D samples


def test_plot_samples_2d_scatters_real_fake_and_centres_with_a_legend():
    real, fake, centers = np.random.default_rng(0).normal(size=(3, 50, 2))
    ax = viz.plot_samples_2d(real=real, fake=torch.as_tensor(fake), centers=centers[:8], lim=2)
    offsets = [c.get_offsets() for c in ax.collections]
    assert [len(o) for o in offsets] == [50, 50, 8]
    np.testing.assert_allclose(offsets[0], real)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["real", "generated", "mode centres"]
    assert ax.get_xlim() == (-2, 2) and ax.get_ylim() == (-2, 2)


def test_plot_samples_2d_draws_only_what_it_is_given():
    ax = viz.plot_samples_2d(fake=np.zeros((5, 2)), lim=(-1, 3))
    assert len(ax.collections) == 1
    assert ax.get_xlim() == (-1, 3)


# --------------------------------------------------------------------------- decision grid


class Linear2D(nn.Module):
    """D(x) = sigmoid(a x_1 + b): D = 1/2 on the vertical line x_1 = -b/a."""

    def __init__(self, a=2.0, b=-1.0):
        super().__init__()
        self.linear = nn.Linear(2, 1)
        with torch.no_grad():
            self.linear.weight.copy_(torch.tensor([[a, 0.0]]))
            self.linear.bias.fill_(b)

    def forward(self, x):
        return self.linear(x).squeeze(1)


def test_decision_grid_is_sigmoid_of_the_logits_on_the_grid():
    X1, X2, D = viz.decision_grid(Linear2D(2.0, -1.0), (-2, 2), (-1, 1), resolution=41)
    assert X1.shape == X2.shape == D.shape == (41, 41)
    assert X1[0, 0] == -2 and X1[0, -1] == 2 and X2[0, 0] == -1 and X2[-1, 0] == 1
    np.testing.assert_allclose(D, 1 / (1 + np.exp(-(2 * X1 - 1))), atol=1e-6)


def test_decision_grid_leaves_a_batchnorm_model_in_its_mode_with_its_statistics():
    model = nn.Sequential(nn.Linear(2, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 1))
    model.train()
    running_mean = model[1].running_mean.clone()
    viz.decision_grid(model, (-1, 1), (-1, 1), resolution=20)
    assert model.training  # restored
    assert torch.equal(model[1].running_mean, running_mean)  # evaluated in eval mode


# --------------------------------------------------------------------------- 1-D densities


def test_plot_density_1d_draws_one_labelled_curve_per_density():
    x = np.linspace(-3, 3, 101)
    p_data = np.exp(-(x**2) / 2) / math.sqrt(2 * math.pi)
    p_g = np.exp(-((x - 1) ** 2) / 2) / math.sqrt(2 * math.pi)
    d_star = p_data / (p_data + p_g)
    ax = viz.plot_density_1d(torch.as_tensor(x), {"p_data": p_data, "p_g": p_g, "D*": d_star})
    lines = ax.get_lines()
    assert [line.get_label() for line in lines] == ["p_data", "p_g", "D*"]
    np.testing.assert_allclose(lines[2].get_ydata(), d_star)
    with pytest.raises(ValueError, match="grid of 101"):
        viz.plot_density_1d(x, {"bad": x[:50]})


# --------------------------------------------------------------------------- training history


def make_history(n=20):
    steps = list(range(0, 10 * n, 10))
    return {
        "step": steps,
        "loss_D": [1.4 - 0.01 * i for i in range(n)],
        "loss_G": [0.7 + 0.02 * i for i in range(n)],
        "D_x": [0.5 + 0.01 * i for i in range(n)],
        "D_G_z": [0.5 - 0.01 * i for i in range(n)],
        "grad_norm_D": [1.0] * n,
        "grad_norm_G": [2.0] * n,
    }


def test_plot_history_default_is_losses_and_d_outputs():
    history = make_history()
    axes = viz.plot_history(history)
    assert len(axes) == 2
    assert [len(ax.get_lines()) for ax in axes] == [2, 2]
    np.testing.assert_allclose(axes[1].get_lines()[0].get_ydata(), history["D_x"])
    np.testing.assert_allclose(axes[1].get_lines()[0].get_xdata(), history["step"])
    labels = [t.get_text() for t in axes[1].get_legend().get_texts()]
    assert labels == ["$D(x)$", "$D(G(z))$"]


def test_plot_history_smoothing_is_a_moving_average_at_window_ends():
    history = make_history(20)
    history["loss_D"] = [0.0, 10.0] * 10  # oscillates; a window of 2 averages it flat
    ax = viz.plot_history(history, keys=["loss_D"], smooth=2)[0]
    line = ax.get_lines()[0]
    np.testing.assert_allclose(line.get_ydata(), np.full(19, 5.0))
    np.testing.assert_allclose(line.get_xdata(), history["step"][1:])


def test_plot_history_custom_panels_into_given_axes():
    fig, axes = plt.subplots(1, 3)
    out = viz.plot_history(
        make_history(),
        keys=[["loss_D", "loss_G"], "grad_norm_D", ["D_x", "D_G_z", "grad_norm_G"]],
        axes=axes,
    )
    assert [len(ax.get_lines()) for ax in out] == [2, 1, 3]
    assert all(a is b for a, b in zip(out, axes, strict=True))


def test_plot_history_skips_missing_default_keys_and_rejects_unknown_ones():
    history = {"step": [0, 1, 2], "loss_D": [1.0, 0.9, 0.8], "loss_G": [0.5, 0.6, 0.7]}
    axes = viz.plot_history(history)
    assert len(axes) == 1 and len(axes[0].get_lines()) == 2
    with pytest.raises(KeyError, match="D_x"):
        viz.plot_history(history, keys=["D_x"])


# --------------------------------------------------------------------------- animations


def test_animation_html_embeds_every_frame():
    centers = [np.array([[math.cos(t), math.sin(t)]]) for t in np.linspace(0, 2, 5)]
    drawn = []

    def draw(ax, frame):
        drawn.append(frame)
        viz.plot_samples_2d(fake=frame, ax=ax, lim=1.5)

    anim = viz.animate(centers, draw, interval=100, figsize=(2, 2))
    assert isinstance(anim, FuncAnimation)
    html = viz.animation_html(anim)
    assert html.count('"data:image/png;base64,') == 5
    assert "<input" in html and "range" in html  # the slider
    assert "//" not in "".join(re.findall(r"<link[^>]*>", html))  # nothing from a CDN
    assert 'class="fa' not in html and "\u25b6" in html  # the play button is a character
    assert any(frame is centers[-1] for frame in drawn)


def test_animation_html_describes_each_frame_and_labels_its_slider():
    """The slider has a label, and the image's alt text says what the frame on screen shows
    (its value, title, axes, legend); the other frames' descriptions wait in the script."""

    def draw(ax, mu):
        ax.plot([mu, mu], [0, 1], label="$p_g$")
        ax.set(title=f"$\\mu$ = {mu}", xlabel="$x$", ylabel="density")
        ax.legend()

    html = viz.animation_html(viz.animate([0.0, 1.5], draw, figsize=(2, 2)), label="mu", values=[0.0, 1.5])
    alt = re.search(r'<img id="_anim_img\w+" alt="([^"]*)"', html).group(1)
    assert alt == "mu = 0 (frame 1 of 2). μ = 0.0. Curves; horizontal axis x; vertical axis density; legend: p_g."
    assert re.search(r'<label for="_anim_slider\w+">mu</label>', html)
    assert "mu = 1.5 (frame 2 of 2). \\u03bc = 1.5." in html  # the second frame's, as JSON


def test_describe_axes_names_a_grid_of_images():
    ax = viz.show_grid(torch.zeros(10, 1, 28, 28), nrow=8, title="generator step 200")
    assert viz.describe_axes(ax) == "generator step 200. A grid of 10 images of 28 by 28 pixels, 2 rows of 8."
    plt.close("all")


def test_animate_rejects_no_frames():
    with pytest.raises(ValueError, match="at least one frame"):
        viz.animate([], lambda ax, frame: None)


def test_slider_figure_is_prerendered_javascript_while_building_the_site(monkeypatch):
    monkeypatch.setenv("GANCOURSE_SITE", "1")
    drawn = []

    def draw(ax, mu):
        drawn.append(mu)
        ax.plot([mu, mu], [0, 1])

    html = viz.slider_figure(draw, [0.0, 0.5, 1.0], label="mu").data
    assert "<script" in html and html.count("data:image/png;base64") == 3  # every position, in advance
    assert sorted(set(drawn)) == [0.0, 0.5, 1.0]


def test_slider_figure_is_a_live_widget_in_a_notebook(monkeypatch):
    import ipywidgets
    monkeypatch.delenv("GANCOURSE_SITE", raising=False)
    drawn = []
    widget = viz.slider_figure(lambda ax, v: drawn.append(v), [1, 2, 3], label="k")
    slider = widget.widget.children[0]
    assert isinstance(slider, ipywidgets.SelectionSlider) and slider.description == "k"
    slider.value = 3  # moving the slider redraws
    assert drawn[-1] == 3
    plt.close("all")


def test_decision_grid_gives_a_critics_raw_scores_when_asked():
    critic = nn.Linear(2, 1)
    with torch.no_grad():
        critic.weight.copy_(torch.tensor([[3.0, -1.0]]))
        critic.bias.fill_(0.5)
    X1, X2, F = viz.decision_grid(critic, (-2, 2), (-1, 1), resolution=7, squash=False)
    assert np.allclose(F, 3 * X1 - X2 + 0.5, atol=1e-6)  # unbounded, not squashed into (0, 1)
    _, _, D = viz.decision_grid(critic, (-2, 2), (-1, 1), resolution=7)
    assert np.allclose(D, 1 / (1 + np.exp(-F)), atol=1e-6)


# --------------------------------------------------------------------------- colour blindness

# Machado, Oliveira and Fernandes (2009): full protanopia, deuteranopia and tritanopia as
# matrices on linear RGB (each row sums to 1: white and greys look the same to everyone).
COLOUR_BLINDNESS = {
    "protanopia": [[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216], [-0.003882, -0.048116, 1.051998]],
    "deuteranopia": [[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413], [-0.011820, 0.042940, 0.968881]],
    "tritanopia": [[1.255528, -0.076749, -0.178779], [-0.078411, 0.930809, 0.147602], [0.004733, 0.691367, 0.303900]],
}  # fmt: skip
APART = 20.0  # CIELAB distance between two colours that nobody confuses at a glance


def seen_apart(a, b, vision: str | None = None) -> float:
    """The CIELAB distance (CIE76) between colours ``a`` and ``b`` as ``vision`` sees them."""
    import matplotlib.colors as mcolors

    def lab(colour):
        c = np.asarray(mcolors.to_rgb(colour))
        rgb = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)  # linear RGB
        if vision is not None:
            rgb = np.clip(np.asarray(COLOUR_BLINDNESS[vision]) @ rgb, 0, 1)
        xyz = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]) @ rgb
        t = xyz / np.array([0.95047, 1.0, 1.08883])  # D65 white
        f = np.where(t > (6 / 29) ** 3, np.cbrt(t), t / (3 * (6 / 29) ** 2) + 4 / 29)
        return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])

    return float(np.linalg.norm(lab(a) - lab(b)))


def test_the_simulation_confuses_red_and_green_as_colour_blind_readers_do():
    for matrix in COLOUR_BLINDNESS.values():
        np.testing.assert_allclose(np.sum(matrix, axis=1), 1, atol=1e-5)
    assert seen_apart("tab:red", "tab:green") > 100  # far apart to normal vision
    assert seen_apart("tab:red", "tab:green", "deuteranopia") < APART / 2
    assert seen_apart("tab:orange", "tab:green", "protanopia") < APART / 2


@pytest.mark.parametrize("vision", [None, *COLOUR_BLINDNESS])
def test_real_and_generated_stay_apart_for_colour_blind_readers(vision):
    assert seen_apart(viz.REAL, viz.FAKE, vision) > 3 * APART


def test_the_curves_of_a_panel_differ_by_more_than_colour():
    history = {"step": [1, 2, 3], "D_x": [0.6, 0.5, 0.5], "D_G_z": [0.3, 0.4, 0.5], "D_G_z_after": [0.35, 0.45, 0.5]}
    (ax,) = viz.plot_history(history, keys=[["D_x", "D_G_z", "D_G_z_after"]])
    lines = ax.get_lines()
    for i, a in enumerate(lines):
        for b in lines[i + 1 :]:
            by_colour = min(seen_apart(a.get_color(), b.get_color(), v) for v in COLOUR_BLINDNESS)
            assert a.get_linestyle() != b.get_linestyle() or by_colour > APART, (a.get_label(), b.get_label())


def test_vary_line_styles_gives_each_curve_its_own_style_and_the_legend_follows():
    x = np.linspace(-3, 3, 61)
    curves = {name: np.exp(-((x - shift) ** 2) / 2) for shift, name in enumerate("abcde")}
    ax = viz.plot_density_1d(x, curves)  # draws its legend before the styles change
    ax.plot([0.0], [0.2], "o", label="a marker")
    assert viz.vary_line_styles(ax) is ax
    lines = ax.get_lines()
    styles = [line.get_linestyle() for line in lines[:5]]
    assert styles == ["-", ":", "-.", "--", "-"]  # in turn, from the first again after four
    assert len(set(viz.LINE_CUES)) == len(viz.LINE_CUES)
    assert lines[5].get_linestyle() == "None"  # markers only: no line is added
    assert [h.get_linestyle() for h in ax.get_legend().legend_handles] == styles


def test_density_curves_with_varied_styles_differ_by_more_than_colour():
    """Chapter 3's p_data, p_g and D*: the default colours C0, C1, C2 (orange and green look
    alike to a protanope), told apart by their line styles."""
    x = np.linspace(-3, 3, 61)
    ax = viz.plot_density_1d(x, {"p_data": np.exp(-(x**2)), "p_g": np.exp(-((x - 1) ** 2)), "D*": 0.5 + 0 * x})
    viz.vary_line_styles(ax)
    lines = ax.get_lines()
    for i, a in enumerate(lines):
        for b in lines[i + 1 :]:
            by_colour = min(seen_apart(a.get_color(), b.get_color(), v) for v in COLOUR_BLINDNESS)
            assert a.get_linestyle() != b.get_linestyle() or by_colour > APART, (a.get_label(), b.get_label())
