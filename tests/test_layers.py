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


def _unit(module: str) -> str:
    """The house unit of a module: its package under pi_app, or the top-level module."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def test_no_two_parts_of_the_house_import_each_other():
    # Package level (pi_app.X, or a top-level module): the cycles found before were
    # cues/live/store, cli/commands/validation and app/replay/coaching/ui.
    edges: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        source = _unit(".".join(p for p in rel.parts if p != "__init__"))
        for name in _imports(path):
            if name.startswith("pi_app.") and _unit(name) != source:
                edges.setdefault(source, set()).add(_unit(name))

    def reaches(start: str) -> set[str]:
        seen, todo = set(), [start]
        while todo:
            for nxt in edges.get(todo.pop(), ()):
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        return seen

    cycles = sorted({tuple(sorted({a} | {b for b in reaches(a) if a in reaches(b)}))
                     for a in edges if a in reaches(a)})
    assert cycles == []
