"""The docs hold together: every reference to a markdown file in the code and the docs names
a file that exists, and every `#anchor` in such a reference is a heading of that file."""
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCES = [*ROOT.glob("tinygan/*.py"), *ROOT.glob("examples/*.py"), *ROOT.glob("benchmarks/*.py"),
           *ROOT.glob("docs/*.md"), ROOT / "README.md"]
REF = re.compile(r"(?<![\w/.-])((?:docs/)?\d\d-[\w-]+\.md|README\.md)(?:#([\w-]+))?")


def slug(heading):
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    s = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return s.replace(" ", "-")


def anchors(md):
    return {slug(m.group(1)) for m in re.finditer(r"^#+\s+(.*)$", md.read_text(), re.M)}


def references():
    for src in SOURCES:
        for m in REF.finditer(src.read_text()):
            name, anchor = m.groups()
            if name == "README.md":
                target = src.parent / name if src.parent.name == "docs" else ROOT / name
            else:
                target = ROOT / "docs" / Path(name).name
            yield src.relative_to(ROOT), name, anchor, target


REFS = list(references())


def test_the_scan_finds_references():
    assert len(REFS) > 30 and any(anchor for *_, anchor, _ in REFS)


def test_slug_follows_github():
    assert slug("conv_transpose2d, the adjoint of conv2d") == "conv_transpose2d-the-adjoint-of-conv2d"
    assert slug("The one rule") == "the-one-rule"


@pytest.mark.parametrize("src,name,anchor,target", REFS, ids=[f"{s}:{n}#{a or ''}" for s, n, a, _ in REFS])
def test_reference_resolves(src, name, anchor, target):
    assert target.is_file(), f"{src} refers to {name}, which does not exist"
    if anchor:
        assert anchor in anchors(target), f"{src}: no heading in {name} gives #{anchor}"
