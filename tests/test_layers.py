"""The records every layer shares sit at the bottom of the house: nothing below the live layer
imports it (the cycles `cues <-> live` and `live <-> store` came from records kept in
pi_app.live). Read from the source's own imports, so a new import that climbs fails here."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "pi_app"

#: package (or module) -> the packages above it that it must never import.
NEVER_UP = {
    "records": ("pi_app.",),
    "analysis": ("pi_app.cues", "pi_app.store", "pi_app.live", "pi_app.ui", "pi_app.commands"),
    "cues": ("pi_app.store", "pi_app.live", "pi_app.ui", "pi_app.commands"),
    "store": ("pi_app.live", "pi_app.ui", "pi_app.commands"),
}


def _imports(path: Path) -> list[str]:
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out.extend(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.append(node.module)
    return out


def _files(place: str) -> list[Path]:
    single = PACKAGE / f"{place}.py"
    return [single] if single.exists() else sorted((PACKAGE / place).rglob("*.py"))


@pytest.mark.parametrize("place", sorted(NEVER_UP))
def test_lower_layers_never_import_upper_ones(place):
    files = _files(place)
    assert files
    climbing = [f"{f.relative_to(PACKAGE.parent)} imports {name}"
                for f in files for name in _imports(f)
                if any(name == up.rstrip(".") or name.startswith(up.rstrip(".") + ".")
                       or (up.endswith(".") and name.startswith(up)) for up in NEVER_UP[place])]
    assert climbing == []
