"""The book's prose holds no number that a computation produced: such numbers are glued.

A chapter is built on whichever machine runs ``make book``; a measured value (an accuracy, a ratio,
a standard deviation) differs in its last digits from one CPU to the next. So the prose takes every
computed number from the computation with myst-nb's ``glue`` (``{glue:text}`name:.0%```), and the
text agrees with the figures wherever the book is built.

This test reads each chapter's prose (outside code cells, code, directives' bodies of code, glue and
citation roles) and flags every number written as a decimal, a percentage, a power of ten in
scientific notation, or a multiplier such as ``134x``. What may stay literal is mathematics (``ln 10
= 2.3026``, ``2^-15``), a hyperparameter of a protocol, or a quotation of a paper: each of those is
listed in ``ALLOWED`` with the chapter it belongs to, so that the list is a reviewed record.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

BOOK = Path(__file__).resolve().parent.parent / "book"
CHAPTERS = sorted(p.name for p in BOOK.glob("[0-9][0-9]_*.md"))

# Numbers a chapter may write literally (mathematics, protocol settings, quotations of papers),
# as the exact text that appears in the prose. Keep each entry justified by its comment.
ALLOWED: dict[str, set[str]] = {
    "01_backprop.md": {
        "0.1",  # learning rate of the digits protocol (batch 64, learning rate 0.1, momentum 0.9);
        # also the success tolerance of the XOR size sweep
        "0.9",  # momentum of the same protocol; the usual momentum coefficient
        "6.4",  # "Sec. 6.4.1" of Goodfellow et al.'s book, a section number
        "1%",  # size of the bug planted in the gradient-check experiment, a setting of its protocol
        "0.5",  # mathematics: the sigmoid's undecided output and ADALINE's best constant answer;
        # also the protocol's band width
        "2.30",  # mathematics: ln 10 to two decimals, the chance loss for 10 classes
    },
    "02_activations.md": {
        "0.1",  # protocol settings: learning rate of the saturation run; the slides' leaky slope
        "0.05",  # protocol setting: learning rate of the dead-ReLU run
        "0.01",  # protocol settings: small bias, torch's leaky slope, learning rate of the race
        "0.9",  # protocol setting: momentum of the race
        "1%",  # mathematics: a slope of 0.01 passes 1% of the gradient
        "400x",  # mathematics: 20 / 0.05, the size of the planted learning-rate slip
        "90%",  # mathematics: the chance-level error for 10 classes
        "5%",  # protocol setting: the training-error threshold of the race
        "25%",  # quotation: the error level of Krizhevsky et al.'s speed comparison
        "6.3",  # a section number of Goodfellow et al.'s book
    },
    "03_initialization.md": {
        "0.01",  # protocol settings: the slides' weight std 0.01 and the learning rate of the small-random runs
        "0.9",  # protocol setting: momentum of the small-random and 30-layer training runs
        "0.1",  # mathematics: tanh's slope 1 - 0.95^2 < 0.1; protocol setting: the input std of the linear-regime run
        "8.4",  # a section number of Goodfellow et al.'s book
    },
    "04_preprocessing.md": {
        "0.3",  # the training-loss threshold of the all-positive experiment, a setting of its protocol
        "7.10",  # "Sec. 7.10.2" of Hastie, Tibshirani & Friedman, a section number of their book
    },
    "06_batchnorm.md": {
        "3.2",  # "Sec. 3.2" of Ioffe & Szegedy (2015), a section number of the paper
    },
    "05_convolutions.md": {
        "32%",  # quotation: Greydanus & Kobak (2024), Table 1, logistic regression on MNIST-1D
        "68%",  # quotation: the same table, MLP
        "94%",  # quotation: the same table, CNN
        "56%",  # quotation: the same table, CNN on shuffled positions
    },
    "07_batchnorm_fixes.md": {
        "3.3",  # "Sec. 3.3" of Ioffe & Szegedy (2015), a section number
        "0.9",  # protocol setting: momentum of chapter 3's 30-layer run
        "90%",  # protocol setting: the test-accuracy level whose first crossing is compared
        "80%",  # protocol setting: the validation accuracy a sweep run needs to count as trained
        "0.1",  # protocol setting: learning rate of the CNN placement experiment
        "0.03",  # protocol setting: the smaller learning rate at which the ResNet's gap shrinks (tested)
    },
    "08_batchnorm_why.md": {
        "0.1",  # protocol setting: the learning rate of the Santurkar et al. runs
        "0.2",  # protocol setting: the larger learning rate of the noisy-BN run
        "1%",  # protocol setting: the size of the myrtle.ai weight perturbations, 1% of the parameter norm
        "2.2",  # "Sec. 2.2" of Santurkar et al. (2018), a section number
    },
    "12_training_practice.md": {
        "2.5",  # quotation: the slides' "about 2.5 for 10 classes" initial loss
        "2.3",  # quotation: the slides' example, the loss going from 2.3 to 3.2 with regularization on
        "3.2",  # quotation: the same example
        "2%",  # quotation: the slides' "enjoy 2% extra performance" of ensembles
        "5%",  # mathematics: the top-5% quantile of Bergstra & Bengio's argument, 1 - 0.95^n
        "0.05",  # protocol settings: learning rate of the growth and ensemble runs; weight std of the bad-init run
        "100%",  # the target of the overfit-20-examples check (every example right), a protocol criterion
    },
}

# A computed-looking number: a decimal (0.73, 1.5), a percentage (73%, 73 %), scientific notation
# (1e-4, 3.1e-5, 10^{-4} is mathematics and lives in $...$), or a multiplier (134x, 2.5×).
NUMBER = re.compile(
    r"(?<![\w.\-])"
    r"(?:"
    r"\d+(?:\.\d+)?\s?%"  # percentage
    r"|\d+(?:\.\d+)?[eE][-+]?\d+"  # scientific notation
    r"|\d+(?:\.\d+)?\s?[x×](?![\w])"  # multiplier
    r"|\d*\.\d+"  # decimal
    r")"
)


def prose_of(text: str) -> str:
    """The chapter's prose: markdown text outside code, directives holding code, math and roles."""
    # front matter
    text = re.sub(r"\A---\n.*?\n---\n", "", text, flags=re.S)
    # fenced blocks: code cells, literalincludes, plain code (any number of backticks or colons)
    lines, out, fence, containers = text.splitlines(), [], None, []
    for line in lines:
        stripped = line.strip()
        if fence is None:
            m = re.match(r"^(`{3,}|~{3,})(.*)$", stripped)
            if m:
                info = m.group(2).strip()
                if not info and containers and m.group(1) == containers[-1]:
                    containers.pop()  # the closing fence of a tab-set, an admonition, ...
                    out.append("")
                    continue
                # a fence that opens a container of prose (tab-set, admonition, figure...) stays prose
                if re.match(
                    r"^\{(tab-set|tab-item|admonition|note|warning|tip|important|hint|dropdown|figure|glossary"
                    r"|seealso|caution|attention|danger|error)\}",
                    info,
                ):
                    containers.append(m.group(1))
                    out.append("")
                    continue
                fence = m.group(1)
                out.append("")
                continue
            out.append(line)
        else:
            if stripped == fence or (stripped.startswith(fence[0] * len(fence)) and set(stripped) == {fence[0]}):
                fence = None
            out.append("")
    text = "\n".join(out)
    # directive options (":name: fig-x", ":width: 80%", ":pyobject: X")
    text = re.sub(r"(?m)^\s*:[\w-]+:.*$", "", text)
    # display math, inline math, inline code, roles ({glue:text}`x:.0%`, {cite:p}`key`), links' targets
    text = re.sub(r"\$\$.*?\$\$", " ", text, flags=re.S)
    text = re.sub(r"\\begin\{(\w+\*?)\}.*?\\end\{\1\}", " ", text, flags=re.S)
    text = re.sub(r"\$(?:[^$\n]|\n(?!\s*\n))+?\$", " ", text)  # inline math, may wrap a line
    text = re.sub(r"\{[\w:-]+\}`[^`]*`", " ", text)
    text = re.sub(r"``[^`]*``|`[^`\n]*`", " ", text)
    text = re.sub(r"\]\([^)]*\)", "]", text)
    text = re.sub(r"<!--.*?-->", " ", text, flags=re.S)
    return text


def literal_numbers(chapter: str) -> list[tuple[int, str, str]]:
    """(line number, number, line) for every computed-looking number left in the prose."""
    prose = prose_of((BOOK / chapter).read_text())
    allowed = ALLOWED.get(chapter, set())
    hits = []
    for i, line in enumerate(prose.splitlines(), start=1):
        for m in NUMBER.finditer(line):
            if m.group(0).strip() not in allowed:
                hits.append((i, m.group(0), line.strip()))
    return hits


def test_the_prose_parser_finds_numbers_and_skips_code_math_and_glue():
    """A control: the check finds what it must and ignores what it must."""
    sample = (
        "The net reaches 73% and a ratio of 0.56; noise grows 134x, to 3.1e-5.\n"
        "$\\ln 10 = 2.3026$ and {glue:text}`acc:.1%` and `lr=0.1`.\n"
        "```{code-cell} ipython3\nprint(0.25)\n```\n"
        ":::{admonition} Recap\nAbout 45% of units.\n:::\n"
        "`````{tab-set}\n````{tab-item} NumPy\n```{literalinclude} f.py\n```\n````\n`````\n"
        "After the tabs, 12.5% remain; $x = 0.25 +\n 0.5$ is math.\n"
    )
    prose = prose_of(sample)
    found = [m.group(0).strip() for m in NUMBER.finditer(prose)]
    assert found == ["73%", "0.56", "134x", "3.1e-5", "45%", "12.5%"]


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_computed_numbers_in_the_prose_are_glued(chapter):
    hits = literal_numbers(chapter)
    report = "\n".join(f"  {chapter}: {num!r} in: {line[:120]}" for _, num, line in hits)
    assert not hits, (
        f"{len(hits)} literal number(s) in the prose of {chapter}; glue computed values "
        f"({{glue:text}}`name:fmt`) or list mathematics/quotations in ALLOWED:\n{report}"
    )


GLUE_ROLE = re.compile(r"\{glue(?::(?:text|any|md|math|figure))?\}`([^`:]+)(?::[^`]*)?`")
GLUE_DIRECTIVE = re.compile(r"(?m)^[`:]{3,}\{glue(?::\w+)?\}\s+(\S+)")
GLUE_CALL = re.compile(r"""\bglue\(\s*(?:f?["'])([^"']+)["']""")


def glue_keys(chapter: str) -> tuple[set[str], set[str]]:
    """(keys the prose uses, keys the code cells glue) of one chapter."""
    text = (BOOK / chapter).read_text()
    used = set(GLUE_ROLE.findall(text)) | set(GLUE_DIRECTIVE.findall(text))
    defined = set(GLUE_CALL.findall(text))
    return used, defined


def test_glue_key_parser():
    text = "{glue:text}`acc:.1%` and {glue}`n` ```{glue:figure} fig\n```\nglue(\"acc\", 0.5, display=False)"
    assert set(GLUE_ROLE.findall(text)) == {"acc", "n"}
    assert GLUE_CALL.findall(text) == ["acc"]


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_every_glued_name_in_the_prose_is_computed_in_the_chapter(chapter):
    used, defined = glue_keys(chapter)
    dynamic = any("{" in key for key in defined)  # glue(f"acc_{k}", ...) in a loop
    missing = {k for k in used - defined if not dynamic}
    assert not missing, f"{chapter} uses glue names that no code cell defines: {sorted(missing)}"
