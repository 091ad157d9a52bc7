"""The docs hold together: every reference to a markdown file in the code and the docs names
a file that exists, and every `#anchor` in such a reference is a heading of that file."""
import re
from pathlib import Path

import numpy as np
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


# ----------------------------------------------------------------------------- runnable examples
def python_blocks():
    for md in [ROOT / "README.md", *sorted(ROOT.glob("docs/*.md"))]:
        for k, m in enumerate(re.finditer(r"^```python\n(.*?)^```", md.read_text(), re.M | re.S)):
            yield md.relative_to(ROOT), k, m.group(1)


BLOCKS = list(python_blocks())


def test_every_teaching_chapter_has_a_check():
    for n in range(1, 7):
        md = next(ROOT.glob(f"docs/0{n}-*.md"))
        assert "## Check it yourself" in md.read_text(), md.name
        assert any(src == md.relative_to(ROOT) for src, _, _ in BLOCKS), md.name


@pytest.mark.parametrize("src,k,code", BLOCKS, ids=[f"{s}[{k}]" for s, k, _ in BLOCKS])
def test_doc_example_runs(src, k, code, monkeypatch):
    """Every ```python block of the README and the docs runs, and its asserts hold."""
    from tinygan import backend
    monkeypatch.chdir(ROOT)
    try:
        exec(compile(code, f"{src} block {k}", "exec"), {"__name__": "__doc_example__"})
    finally:
        backend.set_default_dtype(np.float32)
        backend.set_backend("numpy")


def test_every_embedded_picture_exists():
    for md in [ROOT / "README.md", *ROOT.glob("docs/*.md")]:
        for m in re.finditer(r"!\[[^\]]*\]\(([^)]+)\)", md.read_text()):
            assert (md.parent / m.group(1)).is_file(), f"{md.name}: {m.group(1)} is missing"


def test_the_pictures_script_draws_them(tmp_path):
    import runpy
    assert runpy.run_path(str(ROOT / "docs" / "pictures.py"), run_name="not_main")["main"](["--out", str(tmp_path)]) == 0
    for name in ("im2col", "conv_as_matrix", "batchnorm_graph", "infogan_wiring"):
        assert (tmp_path / f"{name}.png").stat().st_size > 5000
