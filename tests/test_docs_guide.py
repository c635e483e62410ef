"""The coach guide cannot rot silently: every `pi-app` command and flag it names exists,
every config key it names is in the schema (and every TOML example loads), the generated
parts (config reference, cue and key tables, wiring diagram, stride figure, screenshot
manifest) are up to date, and every relative link and anchor in docs/ and the README
resolves."""

from __future__ import annotations

import importlib.util
import re
import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from pi_app.cli import build_parser
from pi_app.config import TABLES, BuzzerConfig, config_from_dict, loads_config

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs"
PAGES = sorted(DOCS.glob("*.md")) + [REPO / "README.md"]
GUIDE_PAGES = ("parts.md", "wiring.md", "mounting.md", "first-session.md",
               "reading-the-numbers.md", "cues.md", "config-reference.md",
               "troubleshooting.md")
#: Committed figures stay small (the guide is read on a code-hosting site).
FIGURES_BUDGET_BYTES = 600_000


def _load_make_docs():
    spec = importlib.util.spec_from_file_location("make_docs", DOCS / "gen" / "make_docs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


make_docs = _load_make_docs()


# -- parsing Markdown -------------------------------------------------------------------------
_FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)
_INLINE = re.compile(r"`([^`\n]+)`")


def code_snippets(md: str) -> list[tuple[str, str]]:
    """(language, text) of every fenced block, indented (4-space) line and inline code span."""
    out = [(m.group(1), m.group(2)) for m in _FENCE.finditer(md)]
    rest = _FENCE.sub("", md)
    for line in rest.splitlines():
        if line.startswith("    ") and line.strip():
            out.append(("", line.strip()))
        else:
            out.extend(("", m.group(1)) for m in _INLINE.finditer(line))
    return out


_CALL = re.compile(r"(?:^|(?<=[\s(]))(?:\S*/)?pi-app\s+([A-Za-z][\w-]*)([^|;&\n]*)")


def command_problems(md: str, where: str) -> list[str]:
    """Every `pi-app COMMAND --flag ...` in code that names a command or flag that does not
    exist (checked against pi_app.cli.build_parser())."""
    parser = build_parser()
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    problems = []
    for _, text in code_snippets(md):
        for m in _CALL.finditer(text):
            before = text[:m.start()].split()
            if before and before[-1] == "-u":       # `sudo -u pi-app ...`: a user name
                continue
            name, rest = m.group(1), m.group(2)
            if name not in sub.choices:
                problems.append(f"{where}: `pi-app {name}` is not a command")
                continue
            flags = {o for a in sub.choices[name]._actions for o in a.option_strings}
            for flag in re.findall(r"(?<![\w-])(--[a-z][\w-]*)", rest):
                if flag not in flags:
                    problems.append(f"{where}: `pi-app {name} {flag}` is not an option")
    return problems


_KEY = re.compile(r"^\[([a-z_]+)\](?:\s+([a-z_]+))?")


def config_problems(md: str, where: str) -> list[str]:
    """Config tables/keys named in code as `[table]` or `[table] key`, and ```toml examples,
    that the schema does not accept."""
    problems = []
    for lang, text in code_snippets(md):
        if lang == "toml" and text.lstrip().startswith("format = "):
            # A baseline file (docs/coaching.md), not a config.
            from pi_app.coaching.baselines import loads_baseline
            try:
                loads_baseline(text, source=f"{where} (baseline example)")
            except Exception as err:   # noqa: BLE001
                problems.append(str(err))
            continue
        if lang == "toml" and "[[session]]" in text:
            # A programme (docs/coaching.md), not a config.
            from pi_app.coaching.programme import loads_programme
            try:
                loads_programme(text, source=f"{where} (programme example)")
            except Exception as err:   # noqa: BLE001
                problems.append(str(err))
            continue
        if lang == "toml":
            try:
                loads_config(text, source=f"{where} (toml example)")
            except Exception as err:   # noqa: BLE001 - report any failure as a doc problem
                problems.append(str(err))
            continue
        m = _KEY.match(text.strip())
        if not m:
            continue
        table, key = m.group(1), m.group(2)
        if table not in TABLES:
            problems.append(f"{where}: `[{table}]` is not a config table")
        elif key and key not in TABLES[table].__dataclass_fields__:
            problems.append(f"{where}: `[{table}] {key}` is not a config key")
    return problems


def slug(heading: str) -> str:
    """The anchor a code-hosting site gives a heading: lower case, punctuation dropped,
    spaces to hyphens."""
    text = re.sub(r"[`*_]", "", heading.strip().lower())
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(md: str) -> set[str]:
    rest = _FENCE.sub("", md)
    return {slug(m.group(1)) for m in re.finditer(r"^#{1,6}\s+(.+?)\s*$", rest, re.M)}


_LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")


def link_problems(page: Path) -> list[str]:
    """Relative links and images of `page` whose file (or #anchor) does not exist."""
    md = page.read_text(encoding="utf-8")
    problems = []
    for target in _LINK.findall(_FENCE.sub("", md)):
        if re.match(r"^[a-z]+:", target):
            continue  # http(s):, mailto:, ...
        path_part, _, anchor = target.partition("#")
        dest = (page.parent / path_part).resolve() if path_part else page
        if not dest.exists():
            problems.append(f"{page.name}: link to {target} does not resolve")
            continue
        if anchor and dest.suffix == ".md" and anchor not in anchors(dest.read_text("utf-8")):
            problems.append(f"{page.name}: no heading for #{anchor} in {dest.name}")
    return problems


# -- the checks themselves can fail -----------------------------------------------------------
def test_checkers_catch_rotten_docs(tmp_path):
    bad = ("Run `pi-app frobnicate` then `pi-app run --no-such-flag`, set `[cues] colour` and "
           "`[colours]`.\n\n    pi-app demo --headless --speeed 20\n\n"
           "```toml\n[cues]\nmode = \"loud\"\n```\n")
    cmd = command_problems(bad, "bad.md")
    assert any("frobnicate" in p for p in cmd)
    assert any("--no-such-flag" in p for p in cmd)
    assert any("--speeed" in p for p in cmd)
    assert not any("--headless" in p for p in cmd)
    cfg = config_problems(bad, "bad.md")
    assert any("colour" in p for p in cfg) and any("[colours]" in p for p in cfg)
    assert any("loud" in p for p in cfg)
    page = tmp_path / "p.md"
    page.write_text("# Title\n\n[ok](#title) [gone](nowhere.md) [bad](#no-such-heading)\n")
    problems = link_problems(page)
    assert len(problems) == 2
    ok = ("`sudo -u pi-app env X=1 /opt/pi-app/venv/bin/pi-app calibrate --profile P` and "
          "`journalctl -u pi-app -e`")
    assert command_problems(ok, "ok.md") == []


def test_slug_matches_the_hosting_site_rules():
    assert slug("6. Cues") == "6-cues"
    assert slug("When a cue plays (the policy)") == "when-a-cue-plays-the-policy"
    assert slug("`pi-app doctor` checks") == "pi-app-doctor-checks"


# -- the guide --------------------------------------------------------------------------------
def test_guide_pages_exist_and_readme_links_them():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    for name in GUIDE_PAGES + ("ACCURACY.md",):
        assert (DOCS / name).exists(), name
        assert f"(docs/{name})" in readme, f"README's Guide list lacks docs/{name}"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_command_and_flag_named_exists(page):
    assert command_problems(page.read_text(encoding="utf-8"), page.name) == []


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_config_key_named_exists(page):
    assert config_problems(page.read_text(encoding="utf-8"), page.name) == []


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_relative_link_resolves(page):
    assert link_problems(page) == []


def test_generated_parts_are_up_to_date():
    stale = make_docs.stale_files(with_screens=False)
    assert stale == [], ("stale generated docs; run `.venv/bin/python docs/gen/make_docs.py` "
                         f"(add --screenshots for screen-*.png): {stale}")


def test_config_reference_names_every_key_with_its_default():
    text = (DOCS / "config-reference.md").read_text(encoding="utf-8")
    for table, cls in TABLES.items():
        assert f"## {table}\n" in text
        for key, f in cls.__dataclass_fields__.items():
            assert f"| `{key}` |" in text, f"[{table}] {key}"
    # The defaults in the reference, read back as TOML, are the built-in defaults.
    sections = re.split(r"^## (\w+)\n", text, flags=re.M)[1:]
    tables = {}
    for table, body in zip(sections[::2], sections[1::2]):
        rows = re.findall(r"^\| `(\w+)` \| [^|]* \| `([^`]*)` \|", body, re.M)
        tables[table] = tomllib.loads("\n".join(f"{k} = {v}" for k, v in rows))
    assert sorted(tables) == sorted(TABLES)
    assert config_from_dict(tables, source="x") == loads_config("", source="x")


def test_figures_are_referenced_small_and_named_in_the_manifest():
    import json
    manifest = json.loads((DOCS / "figures" / "manifest.json").read_text())
    text = "".join(p.read_text(encoding="utf-8") for p in PAGES)
    files = sorted(p.name for p in (DOCS / "figures").iterdir() if p.name != "manifest.json")
    assert files == sorted(manifest), "figures and manifest disagree"
    total = 0
    for name in files:
        assert f"figures/{name}" in text, f"docs/figures/{name} is not used by any page"
        total += (DOCS / "figures" / name).stat().st_size
    assert total < FIGURES_BUDGET_BYTES
    for state in make_docs.SCREEN_STATES:
        assert f"screen-{state.replace('_', '-')}.png" in manifest


def test_wiring_diagram_is_svg_with_the_configured_buzzer_pin():
    svg = (DOCS / "figures" / "wiring.svg").read_text(encoding="utf-8")
    root = ET.fromstring(svg)
    assert root.tag.endswith("svg")
    words = " ".join(t.text or "" for t in root.iter() if t.tag.endswith("text"))
    bcm = BuzzerConfig().pin_bcm
    assert f"GPIO{bcm}" in words and f"pin {make_docs.BCM_TO_PIN[bcm]}" in words
    for needed in ("pin 1", "pin 3", "pin 5", "0x69", "0x6B", "1 kΩ", "address pin to 3V3"):
        assert needed in words, needed
    assert str(REPO) not in svg


def test_bcm_to_header_pin_map_is_the_40_pin_layout():
    pins = make_docs.BCM_TO_PIN
    assert sorted(pins) == list(range(2, 28))
    assert len(set(pins.values())) == len(pins)
    assert pins[2] == 3 and pins[3] == 5 and pins[18] == 12 and pins[4] == 7
    assert all(make_docs.pin_name(p) in ("3V3", "5V", "GND", "ID_SD", "ID_SC")
               for p in range(1, 41) if p not in pins.values())
