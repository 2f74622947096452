"""The website as a reader sees it: every page of the built book, opened in headless Chromium.

The site is served on 127.0.0.1 and driven with Playwright, using the system's Chromium
(`make test` installs Debian's `chromium` when it is missing and it can).
"""

import functools
import html.parser
import http.server
import os
import re
import shutil
import threading
from pathlib import Path
from urllib.parse import urljoin, urlparse

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("GANCOURSE_CHROMIUM") or (
    "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else shutil.which("chromium") or "/usr/bin/chromium"
)
SCREENSHOTS = ROOT / "_build" / "browser-screenshots"
# Headless and quiet: without the background-networking flags Chromium keeps calling home.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]

# Messages of the book's theme itself, the same on every page and harmless to a reader; any
# other console error or page error fails the tests.
THEME_NOISE = (
    # sphinx-book-theme and sphinx-thebe both emit the thebe settings script
    "Identifier 'THEBE_JS_URL' has already been declared",
    # pydata-sphinx-theme on a first visit (no light/dark choice stored yet)
    "Got invalid theme mode: . Resetting to auto.",
)

TOC = yaml.safe_load((ROOT / "_toc.yml").read_text())
CHAPTERS = [c["file"] for part in TOC["parts"] for c in part["chapters"]]
PAGES = [TOC["root"], *CHAPTERS]
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
REPO = CONFIG["repository"]["url"].removeprefix("https://github.com/")
BRANCH = CONFIG["repository"].get("branch", "main")

# The text a reader sees in an element: visible text nodes, code blocks and typeset math left out.
VISIBLE_PROSE = """(root) => {
    const skip = "pre, code, script, style, mjx-container, .highlight, .cell_input";
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    const parts = [];
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        const el = node.parentElement;
        if (!el || el.closest(skip) || !el.checkVisibility()) continue;
        parts.push(node.textContent);
    }
    return parts.join(" ");
}"""

MATH_TYPESET = """async () => {
    if (!document.querySelector('span.math, div.math')) return 'no math';
    for (let i = 0; i < 300 && !(window.MathJax && MathJax.startup && MathJax.startup.promise); i++)
        await new Promise((r) => setTimeout(r, 50));
    if (!(window.MathJax && MathJax.startup && MathJax.startup.promise)) return 'MathJax never started';
    await MathJax.startup.promise;
    return 'typeset';
}"""

IMAGES_LOADED = """async () => {
    const imgs = [...document.querySelectorAll('.cell_output img')];
    await Promise.all(imgs.map((img) => img.decode().catch(() => null)));
    return imgs.map((img) => [img.currentSrc.slice(0, 80), img.naturalWidth, img.naturalHeight]);
}"""


# Accessibility: axe-core's rules for WCAG 2.0 and 2.1, levels A and AA, run in the page. Its
# script comes with the Python package axe-playwright-python (the dev extra) and is put into
# the page inline, so the check makes no request beyond the site.
# label-content-name-mismatch (WCAG 2.5.3, level A) is among axe-core's experimental rules,
# which a run by tags leaves out: it is asked for by name.
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
AXE_RUN = """async (tags) => {
    const result = await axe.run(document, {
        runOnly: {type: 'tag', values: tags},
        rules: {'label-content-name-mismatch': {enabled: true}},
        resultTypes: ['violations'],
    });
    return result.violations.map((v) => ({
        rule: v.id, impact: v.impact, help: v.help, nodes: v.nodes.length, target: v.nodes[0].target.join(' '),
    }));
}"""
REFLOW_WIDTH = 320  # CSS pixels: WCAG 1.4.10, a 1280 px wide window zoomed to 400 %
# The elements that stick out past the window's right edge, outside any box that scrolls (or
# clips) on its own: what makes the page scroll sideways.
TOO_WIDE = """(limit) => {
    const inBox = (el) => {
        for (let a = el; a; a = a.parentElement) {
            const style = getComputedStyle(a);
            if (style.position === 'fixed') return true;
            if (a !== el && style.overflowX !== 'visible' && a.getBoundingClientRect().right <= limit + 1) return true;
        }
        return false;
    };
    return [...document.querySelectorAll('body *')]
        .filter((el) => el.getBoundingClientRect().right > limit + 1 && !inBox(el))
        .slice(0, 3).map((el) => `<${el.tagName.toLowerCase()} class="${el.className}"> ${el.textContent.trim().slice(0, 40)}`);
}"""
# every page a reader can reach: the book's, and Sphinx's index, search page and index of proofs
SITE_PAGES = [*PAGES, "genindex", "search", "prf-prf"]
# The theme's light/dark switch (pydata-sphinx-theme) keeps the reader's choice in localStorage,
# "mode" (light, dark or auto) and "theme" (what auto resolved to), and its script applies it as
# <html data-theme> while the page loads; the dark run stores "dark" before the page opens.
THEMES = ["light", "dark"]
DARK_MODE = 'localStorage.setItem("mode", "dark"); localStorage.setItem("theme", "dark");'


def axe_script() -> Path:
    try:
        import axe_playwright_python
    except ImportError:
        pytest.fail("axe-playwright-python is missing (it brings axe-core): pip install -e '.[dev]'", pytrace=False)
    return Path(axe_playwright_python.__file__).parent / "axe.min.js"


class Images(html.parser.HTMLParser):
    """The ``<img>`` elements of one HTML page: (src, alt or None)."""

    def __init__(self):
        super().__init__()
        self.found: list[tuple[str, str | None]] = []

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            attrs = dict(attrs)
            self.found.append((attrs.get("src") or "", attrs.get("alt")))


def alt_problem(src: str, alt: str | None) -> str | None:
    """Why ``alt`` does not describe the image, or None when it may. A figure of the course
    (a notebook's output in ``_images/``, or a slider's frame) needs a description of a
    sentence or more; the theme's icons (e.g. "Colab logo") a name."""
    if alt is None:
        return "no alt attribute"
    text = alt.strip()
    if not text:
        return "an empty alt"
    file_name = Path(urlparse(src).path).name
    if re.search(r"\.(png|jpe?g|gif|svg|webp)\b|[0-9a-f]{16,}", text, re.I) or (file_name and file_name in text):
        return f"alt {alt[:80]!r} is a file name"
    if (src.startswith("data:") or "_images/" in src) and len(text.split()) < 6:
        return f"alt {alt!r} does not describe the figure"
    return None


def url_path(url: str) -> str:
    """'http://127.0.0.1:1234/chapters/01_bce.html' -> 'chapters/01_bce'."""
    return urlparse(url).path.lstrip("/").removesuffix(".html")


@pytest.fixture(scope="session")
def site_url(site_html):
    """The built website served over HTTP on 127.0.0.1 for the session."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(site_html)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium for the whole session."""
    if not Path(CHROMIUM).is_file():
        pytest.fail(
            f"Chromium is missing at {CHROMIUM}: the browser tests need it. Install it with "
            "`apt-get install chromium` (Debian; `make test` does this as root) or point "
            "GANCOURSE_CHROMIUM at a Chromium binary.",
            pytrace=False,
        )
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("Playwright is missing: pip install -e '.[dev]'", pytrace=False)
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def screenshots():
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


class Reader:
    """A browser tab that records what went wrong while it loaded pages of the site."""

    def __init__(self, context, site_url):
        self.site_url = site_url
        self.page = context.new_page()
        self.problems: list[str] = []
        self.page.on("console", self._console)
        self.page.on("pageerror", self._error)
        self.page.on("requestfailed", self._failed)
        self.page.on("response", self._response)

    def _local(self, url: str) -> bool:
        # /favicon.ico is the browser's own guess: the site links no icon
        return url.startswith(self.site_url) and urlparse(url).path != "/favicon.ico"

    def _console(self, msg):
        where = msg.location.get("url", "")
        if msg.type == "error" and msg.text not in THEME_NOISE and not where.endswith("/favicon.ico"):
            self.problems.append(f"console error: {msg.text} ({where})")

    def _error(self, error):
        if str(error) not in THEME_NOISE and error.message not in THEME_NOISE:
            self.problems.append(f"page error: {error}")

    def _failed(self, request):
        if self._local(request.url):
            self.problems.append(f"request failed: {request.url} ({request.failure})")

    def _response(self, response):
        if self._local(response.url) and response.status >= 400:
            self.problems.append(f"HTTP {response.status}: {response.url}")

    def open(self, path: str):
        self.page.goto(urljoin(self.site_url, path), wait_until="load")
        return self.page


@pytest.fixture
def desktop(browser, site_url):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    yield Reader(context, site_url)
    context.close()


@pytest.fixture
def phone(browser, site_url):
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True, has_touch=True
    )
    yield Reader(context, site_url)
    context.close()


@pytest.mark.parametrize("name", PAGES)
def test_page_loads_cleanly_with_math_figures_outputs_and_its_colab_link(name, desktop, screenshots):
    page = desktop.open(f"{name}.html")
    assert page.evaluate(MATH_TYPESET) != "MathJax never started", f"{name}: MathJax did not load"
    article = page.locator("article").first
    prose = article.evaluate(VISIBLE_PROSE)
    for raw in ("\\(", "\\)", "\\[", "\\]", "$$"):
        assert raw not in prose, f"{name}: untypeset math {raw!r} in the text: …{prose[prose.find(raw) - 80 :][:200]}…"
    if page.locator("span.math, div.math").count():
        assert page.locator("article mjx-container").count(), f"{name}: the math was not typeset"
    assert "google.colab" not in page.locator("body").inner_text(), f"{name}: the hidden setup cell shows"
    images = page.evaluate(IMAGES_LOADED)
    broken = [src for src, width, height in images if not (width and height)]
    assert not broken, f"{name}: figures that did not load: {broken}"
    if name.startswith("chapters/"):
        assert page.locator(".cell_output").count(), f"{name}: no code cell shows its output"
        assert images, f"{name}: no figure in the cell outputs"
    if (ROOT / f"{name}.ipynb").exists():
        colab = page.locator("a[href^='https://colab.research.google.com']")
        assert colab.count(), f"{name}: no Colab launch link"
        expected = f"https://colab.research.google.com/github/{REPO}/blob/{BRANCH}/{name}.ipynb"
        assert colab.first.get_attribute("href") == expected
    if name == CHAPTERS[0]:
        page.screenshot(path=screenshots / "chapter-desktop.png", full_page=False)
    if name == TOC["root"]:
        page.screenshot(path=screenshots / "landing-desktop.png")
    if name.startswith("assignments/a1"):
        page.screenshot(path=screenshots / "assignment-desktop.png")
    assert not desktop.problems, f"{name}: " + "\n".join(desktop.problems)


def test_sliders_change_the_figure(site_html, desktop, screenshots):
    with_sliders = [c for c in CHAPTERS if "anim-slider" in (site_html / f"{c}.html").read_text()]
    assert with_sliders, "no chapter has an interactive (to_jshtml) slider: was the site built with GANCOURSE_SITE=1?"
    for name in with_sliders:
        page = desktop.open(f"{name}.html")
        animations = page.locator(".animation")
        assert animations.count(), f"{name}: a slider outside a to_jshtml animation"
        for i in range(animations.count()):
            animation = animations.nth(i)
            animation.scroll_into_view_if_needed()
            slider = animation.locator("input[type=range]")
            image = animation.locator("img")
            assert int(slider.get_attribute("max")) >= 1, f"{name}: slider {i} has a single frame"
            label = slider.evaluate("(el) => [...el.labels].map((l) => l.textContent.trim()).join(' ')")
            assert label, f"{name}: slider {i} has no label"
            # stop any playback and start from the first frame, then move the slider to the last
            animation.locator("button[title='Pause']").click()
            slider.evaluate("(el) => { el.value = el.min; el.dispatchEvent(new Event('input')); }")
            before_src, before_png = image.get_attribute("src"), animation.screenshot()
            before_alt = image.get_attribute("alt")
            slider.evaluate("(el) => { el.value = el.max; el.dispatchEvent(new Event('input')); }")
            image.evaluate("(img) => img.decode()")
            after_src, after_png = image.get_attribute("src"), animation.screenshot()
            after_alt = image.get_attribute("alt")
            assert before_src and after_src and before_src != after_src, f"{name}: slider {i} leaves the figure as it was"
            assert before_png != after_png, f"{name}: slider {i} changes nothing on screen"
            # the frame's description follows the frame
            for alt in (before_alt, after_alt):
                assert not alt_problem(after_src, alt), f"{name}: slider {i}: {alt_problem(after_src, alt)}"
            assert before_alt != after_alt, f"{name}: slider {i} keeps the first frame's description: {after_alt!r}"
            if name == with_sliders[0] and i == 0:
                (screenshots / "slider-before.png").write_bytes(before_png)
                (screenshots / "slider-after.png").write_bytes(after_png)
        assert not desktop.problems, f"{name}: " + "\n".join(desktop.problems)


def test_search_finds_wasserstein(desktop):
    page = desktop.open("search.html?q=Wasserstein")
    hit = page.locator("#search-results a[href*='chapters/07_wgan']").first
    hit.wait_for(timeout=15_000)
    assert not desktop.problems, "\n".join(desktop.problems)


@pytest.mark.parametrize("path", ["index.html", f"{CHAPTERS[0]}.html"])
def test_phone_sized_screen_needs_no_horizontal_scrolling(path, phone, screenshots):
    page = phone.open(path)
    if path == "index.html":  # the landing page forwards the reader to the book's first page
        page.wait_for_url(f"**/{TOC['root']}.html")
        page.wait_for_load_state("load")
    page.evaluate(MATH_TYPESET)
    width, viewport = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert width <= viewport + 1, f"{path}: {width}px wide on a {viewport}px screen"
    name = "landing-phone.png" if path == "index.html" else "chapter-phone.png"
    page.screenshot(path=screenshots / name)
    assert not phone.problems, "\n".join(phone.problems)


def test_previous_and_next_links_walk_the_book_in_toc_order(site_html):
    """From the first page, the "next" links visit every page in the table of contents' order,
    and from the last, the "previous" links walk back (read from the built pages' links)."""

    def walk(start: str, css_class: str) -> list[str]:
        pages = [start]
        while link := re.search(rf'<a[^>]*class="[^"]*\b{css_class}\b[^"]*"[^>]*href="([^"#]+)', (site_html / f"{pages[-1]}.html").read_text()):
            pages.append(url_path(urljoin(f"http://site/{pages[-1]}.html", link.group(1))))
            assert len(pages) <= len(PAGES), f"the {css_class} links go beyond the book: {pages}"
        return pages

    assert walk(PAGES[0], "right-next") == PAGES
    assert walk(PAGES[-1], "left-prev") == PAGES[::-1]


def test_the_which_is_real_quiz_reveals_each_answer_on_click(site_html, desktop, screenshots):
    """Chapter 10's quiz works on the static page: every answer is hidden until its summary is
    clicked, then shows the key the notebook wrote (real or generated)."""
    name = "chapters/10_conditional_gans"
    assert (site_html / f"{name}.html").exists(), f"{name} was not built: is it listed in _toc.yml?"
    page = desktop.open(f"{name}.html")
    answers = page.locator("details.ch10-quiz-answer")
    assert answers.count() == 8, f"{name}: the quiz has {answers.count()} answers, not 8"
    keys = [answers.nth(i).get_attribute("data-answer") for i in range(answers.count())]
    assert sorted(keys) == ["generated"] * 4 + ["real"] * 4, keys
    for i, key in enumerate(keys):
        answer = answers.nth(i)
        text = answer.locator("p")
        assert not text.is_visible(), f"{name}: answer {i + 1} shows before it is clicked"
        answer.locator("summary").click()
        assert text.is_visible(), f"{name}: answer {i + 1} stays hidden after a click"
        assert text.inner_text().lower().startswith(key), f"answer {i + 1}: {text.inner_text()!r} for {key!r}"
    page.locator("div.ch10-quiz").screenshot(path=screenshots / "quiz-revealed.png")
    assert not desktop.problems, f"{name}: " + "\n".join(desktop.problems)


@pytest.mark.parametrize("theme", THEMES)
@pytest.mark.parametrize("name", SITE_PAGES)
def test_page_meets_wcag_2_1_aa_as_axe_core_checks_it(name, theme, desktop, screenshots):
    """axe-core finds no violation of WCAG 2.0/2.1 A or AA on the page, once its math is typeset,
    in the theme's light colours and in its dark ones (every page: the two differ in style
    sheets only, but which of their rules apply depends on what the page holds)."""
    if theme == "dark":
        desktop.page.add_init_script(DARK_MODE)
    page = desktop.open(f"{name}.html")
    page.evaluate(MATH_TYPESET)
    shown = page.evaluate("document.documentElement.dataset.theme")
    assert shown == theme, f"{name}: the page shows the {shown!r} theme, not {theme!r}"
    if theme == "dark" and name == "chapters/03_optimal_discriminator":  # admonitions, proofs, sliders
        page.screenshot(path=screenshots / "chapter-dark.png")
    assert not desktop.problems, f"{name}: " + "\n".join(desktop.problems)
    # (axe-core itself then reads the style sheets and resolves the theme's @import against
    # the page instead of the sheet: a 404 for /basic.css that is not the site's)
    page.add_script_tag(path=axe_script())
    violations = page.evaluate(AXE_RUN, WCAG_AA)
    assert not violations, f"{name}: {len(violations)} WCAG 2.1 AA violations:\n" + "\n".join(
        f"  {v['rule']} ({v['impact']}): {v['nodes']} nodes, e.g. {v['target']}: {v['help']}" for v in violations
    )


def test_every_image_of_the_site_has_a_description(site_html):
    """Every <img> on every built page has an alt text: not missing, empty or the image's file
    name (Sphinx's default, a hash), and for a figure a description of what it shows."""
    problems = []
    for page in sorted(site_html.rglob("*.html")):
        if "_static" in page.parts:
            continue
        images = Images()
        images.feed(page.read_text(encoding="utf-8"))
        for src, alt in images.found:
            if why := alt_problem(src, alt):
                problems.append(f"{page.relative_to(site_html)}: <img src={src[:60]!r}>: {why}")
    assert not problems, f"{len(problems)} images without a description:\n" + "\n".join(problems[:40])


@pytest.mark.parametrize("name", SITE_PAGES)
def test_page_reflows_without_sideways_scrolling_at_320_css_pixels(name, browser, site_url):
    """At 320 CSS px (WCAG 1.4.10) the page is no wider than the window: long inline code
    wraps, and code blocks, tables and wide figures scroll inside their own box."""
    context = browser.new_context(viewport={"width": REFLOW_WIDTH, "height": 800})
    try:
        reader = Reader(context, site_url)
        page = reader.open(f"{name}.html")
        page.evaluate(MATH_TYPESET)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= REFLOW_WIDTH, f"{name}: {width} px wide at {REFLOW_WIDTH} px; too wide: {page.evaluate(TOO_WIDE, REFLOW_WIDTH)}"
        assert not reader.problems, f"{name}: " + "\n".join(reader.problems)
    finally:
        context.close()


def test_math_carries_assistive_mathml_for_screen_readers(desktop):
    """MathJax's assistive MathML is on: beside each typeset formula, hidden from sight, the
    MathML a screen reader reads (offline, from the site's own MathJax)."""
    for name in PAGES:
        page = desktop.open(f"{name}.html")
        if page.evaluate(MATH_TYPESET) != "typeset":
            continue
        typeset, assistive = page.evaluate(
            "[document.querySelectorAll('mjx-container').length, document.querySelectorAll('mjx-container mjx-assistive-mml math').length]"
        )
        assert typeset and assistive == typeset, f"{name}: {assistive} of {typeset} formulas carry assistive MathML"
    assert not desktop.problems, "\n".join(desktop.problems)
