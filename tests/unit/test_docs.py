"""README.md is a front page and docs/ holds the rest: short, every relative link resolves, every page is reachable."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
PAGES = sorted(DOCS.glob("*.md"))
# [text](target) outside code spans; images too. External links (scheme:) are not followed.
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")


def _links(path: Path) -> list[str]:
    text = re.sub(r"```.*?```", "", path.read_text(), flags=re.S)
    text = re.sub(r"`[^`\n]*`", "", text)
    return [target for target in LINK.findall(text) if not re.match(r"[a-z][a-z0-9+.-]*:", target)]


def _anchor(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_the_readme_is_a_front_page():
    assert len((ROOT / "README.md").read_text().splitlines()) <= 200


@pytest.mark.parametrize("path", [ROOT / "README.md", *PAGES], ids=lambda p: p.name)
def test_every_relative_link_resolves(path):
    for target in _links(path):
        file, _, anchor = target.partition("#")
        resolved = (path.parent / file).resolve() if file else path
        assert resolved.exists(), f"{path.name}: {target}"
        if anchor and resolved.suffix == ".md":
            anchors = {_anchor(line.lstrip("#")) for line in resolved.read_text().splitlines() if line.startswith("#")}
            assert anchor in anchors, f"{path.name}: {target}"


@pytest.mark.parametrize("index", ["README.md", "docs/README.md"])
def test_every_docs_page_is_linked_from_the_indexes(index):
    index_path = ROOT / index
    linked = {(index_path.parent / target.partition("#")[0]).resolve() for target in _links(index_path)}
    missing = [page.name for page in PAGES if page.name != "README.md" and page.resolve() not in linked]
    assert not missing, f"{index} does not link {missing}"


def test_the_licence_and_the_vendored_notices_exist():
    assert (ROOT / "LICENSE").read_text().startswith("MIT No Attribution")
    notice = (ROOT / "NOTICE").read_text()
    for vendored in ("web/vendor/client-zip", "tests/e2e/vendor/axe-core"):
        assert vendored in notice
        assert any((ROOT / vendored).glob("LICENSE*")), vendored
