"""Numbers a run produced reach the prose through glue, never typed by hand.

The rule: in the Markdown cells of the chapters and assignments, a decimal number (``0.910``)
or a percentage (``97 %``) outside mathematics, roles (``{glue:text}``, ``{cite:p}``, ...),
code and links is taken for a typed result, unless it is one of a few constants that
set up an example (``ALLOWED``). Numbers inside ``$...$`` are mathematics: constants and
exact results such as $-\\log 4 = -1.386294$, which the cells below them check. Integers
are not judged (step counts, chapter numbers and layer sizes are integers too).
"""

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# Set-up constants of worked examples: a D that outputs 0.9, a LeakyReLU slope of 0.2, a
# model that is 99 % noise, a 1 % tolerance, an assignment's 25 % target.
ALLOWED = {"0.1", "0.2", "0.5", "0.9", "1.0", "1 %", "25 %", "99 %"}

_DISPLAY_MATH = re.compile(r"\$\$.*?\$\$", re.S)
_INLINE_MATH = re.compile(r"\$[^$]+\$")
_ROLE = re.compile(r"\{[\w:-]+\}`[^`]*`")  # {glue:text}`x:.2f`, {cite:p}`key`, {math}`...`
_FENCE = re.compile(r"^(```|:::).*$", re.M)  # directive fences and their options
_OPTION = re.compile(r"^:[\w-]+:.*$", re.M)
_CODE = re.compile(r"`[^`]*`")
_LINK = re.compile(r"\]\([^)]*\)|https?://\S+")
_REFERENCE = re.compile(r"\b(Theorem|Lemma|Proposition|Corollary|Section|Table|Figure|Algorithm|Eq\.)\s+\d+(\.\d+)*")
_NUMBER = re.compile(r"(?<![\w.])\d+\.\d+(?!\w|\.\d)|(?<![\w.])\d+(?:\.\d+)? ?%")


def typed_numbers(markdown: str) -> list[str]:
    """The decimals and percentages of ``markdown`` that stand outside math, roles, code and links."""
    text = _DISPLAY_MATH.sub(" ", markdown)
    text = _ROLE.sub(" ", text)  # before inline math: a role may hold a dollar sign
    text = _INLINE_MATH.sub(" ", text)
    for pattern in (_FENCE, _OPTION, _CODE, _LINK, _REFERENCE):
        text = pattern.sub(" ", text)
    return [m.group(0) for m in _NUMBER.finditer(text) if m.group(0) not in ALLOWED]


def markdown_cells():
    paths = sorted(ROOT.glob("chapters/*.ipynb")) + sorted(ROOT.glob("assignments/**/*.ipynb"))
    assert len(paths) >= 9, "the chapters and assignments were not found"
    for path in paths:
        cells = json.loads(path.read_text())["cells"]
        for index, cell in enumerate(cells):
            if cell["cell_type"] == "markdown":
                yield path.relative_to(ROOT), index, "".join(cell["source"])
    for path in sorted(ROOT.glob("guide/*.md")):  # MyST notebooks: the text between the code cells
        text = path.read_text().split("\n---\n", 1)[-1]  # after the front matter
        for index, part in enumerate(re.split(r"^```\{code-cell\}.*?^```$", text, flags=re.M | re.S)):
            yield path.relative_to(ROOT), index, part


def test_no_markdown_cell_carries_a_typed_number():
    found = [f"{path} cell {index}: {numbers}" for path, index, source in markdown_cells()
             if (numbers := typed_numbers(source))]  # fmt: skip
    assert not found, "glue these numbers from the code, or write constants as math:\n" + "\n".join(found)


@pytest.mark.parametrize(
    "planted",
    [
        "What must not happen is saturation: $D(x)$ never rose above 0.910.",
        "Along the line $\\|z_t\\|$ dips from 10.4 to 7.4 in the middle.",
        "The recipe reaches 97.2 % high-quality samples",
        "and 95 % on the grid.",
        "- **Figure.** a Fréchet distance of 64.5, 26.7 times the floor",
    ],
)
def test_a_planted_typed_number_is_caught(planted):
    assert typed_numbers(planted)


@pytest.mark.parametrize(
    "fine",
    [
        "The generator covered {glue:text}`modes:.1f` of 8 modes with {glue:text}`hq:.1f` %.",
        "At the optimum $V(D^*, G) = -1.163451$, and $$\\log 4 = 1.386294.$$",
        "a perfect sampler scores $1 - e^{-9/2} = 98.9\\,\\%$",
        "Call `bce(torch.tensor([1.0]),\ntorch.tensor([0.0]))` and see {cite:t}`ch04-arjovsky2017principled` (their Theorem 2.5).",
        "```{prf:lemma} A name\n:label: ch00-lem-x\n```\nWith $D = 0.9$ on 16 samples and a slope of 0.2.",
        "See [the notes](https://example.org/v1.2/notes.html) and chapter 5.",
    ],
)
def test_math_glue_code_references_and_constants_are_not_typed_numbers(fine):
    assert typed_numbers(fine) == []
