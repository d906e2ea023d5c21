"""docs/architecture.md against the tree: its diagram, its layout and its import contracts."""

import importlib.util
import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "architecture.md"


def load_diagram():
    spec = importlib.util.spec_from_file_location("docs_diagram", ROOT / "docs" / "diagram.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


diagram = load_diagram()


def section(title):
    """The text of the page's ``## title`` section."""
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", DOC.read_text(), re.M | re.S)
    assert match, f"docs/architecture.md has no '## {title}' section"
    return match.group(1)


# A file a description names: "base.py", "amphibian.yaml" (in the entry's folder) or
# "deploy/aws" (from the root).
NAMED = re.compile(r"[\w-]+(?:/[\w.-]+)+|[\w.-]+\.(?:py|txt|yaml|json|sh|toml|md)\b")


def layout_paths():
    """Each path the Layout block names: the entries, joined to their parents (two spaces per
    level), and the files their descriptions name."""
    block = re.search(r"^```\n(.*?)^```", section("Layout"), re.M | re.S)
    assert block, "the Layout section has no code block"
    parents, paths = [], []
    for line in block.group(1).splitlines():
        if not line.strip():
            continue
        indent = len(line) - len(line.lstrip(" "))
        depth, odd = divmod(indent, 2)
        assert not odd and depth <= len(parents), (
            f"layout line {line!r}: write '<two spaces per level><path>  <what it is>', "
            "one line per path"
        )
        entry, _, description = line.strip().partition(" ")
        parents = parents[:depth]
        path = "/".join([*parents, entry.rstrip("/")])
        paths.append(path)
        folder = path if entry.endswith("/") else "/".join(parents)
        for named in NAMED.findall(description):
            paths.append(named if "/" in named else "/".join(filter(None, [folder, named])))
        parents.append(entry.rstrip("/"))
    return list(dict.fromkeys(paths))


def test_the_diagram_is_the_one_the_code_draws():
    _, block, _ = diagram.split(DOC.read_text())
    assert block == diagram.render(), "run `.venv/bin/python docs/diagram.py`"


def test_check_fails_on_a_diagram_edited_by_hand(tmp_path, capsys):
    before, block, after = diagram.split(DOC.read_text())
    copy = tmp_path / "architecture.md"
    copy.write_text(before + block.replace("-->", "-.->", 1) + after)
    assert diagram.main(["--check"], path=copy) == 1
    assert "out of date" in capsys.readouterr().err
    assert diagram.main([], path=copy) == 0
    assert diagram.main(["--check"], path=copy) == 0


@pytest.mark.parametrize("path", layout_paths())
def test_every_path_the_layout_names_exists(path):
    assert (ROOT / path).exists(), f"docs/architecture.md's Layout names {path}, which is gone"


def test_every_import_contract_is_described():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    described = section("Import contracts")
    missing = [
        contract["name"]
        for contract in config["tool"]["importlinter"]["contracts"]
        if f"**{contract['name']}.**" not in described
    ]
    assert not missing, f"docs/architecture.md, 'Import contracts', does not describe {missing}"
