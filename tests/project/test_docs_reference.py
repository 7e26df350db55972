"""The documentation's reference pages are generated from the code (docs/gen_reference.py) and
kept current: a new option, key, grader or command without its page fails here."""

from __future__ import annotations

import importlib.util
import re
import shutil
from pathlib import Path
from types import ModuleType

import pytest
from paths import ROOT

from pytest_modelguard.config.settings import ALIAS_KEYS, BUDGET_KEYS, PROVIDER_KEYS, TOP_KEYS

DOCS = ROOT / "docs"


def generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_reference", DOCS / "gen_reference.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_generated_page_is_current() -> None:
    for name, text in generator().render().items():
        assert (DOCS / name).read_text(encoding="utf-8") == text, (
            f"docs/{name} is stale: run python docs/gen_reference.py"
        )


def test_the_check_names_a_stale_page(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    gen = generator()
    shutil.copytree(DOCS / "reference", tmp_path / "reference")
    shutil.copy(DOCS / "benchmarks.md", tmp_path / "benchmarks.md")
    monkeypatch.setattr(gen, "DOCS", tmp_path)
    assert gen.main(["--check"]) == 0
    page = tmp_path / "reference" / "options.md"
    page.write_text(page.read_text().replace("## `--models A,B`", "## `--modes A,B`"))
    assert gen.main(["--check"]) == 1
    assert "docs/reference/options.md" in capsys.readouterr().out
    assert gen.main([]) == 0 and gen.main(["--check"]) == 0


def test_the_options_page_lists_every_option_the_plugin_registers(
    pytestconfig: pytest.Config,
) -> None:
    """Compared with the options this very pytest run registered, not with the generator."""
    (group,) = [g for g in pytestconfig._parser._groups if g.name == "modelguard"]
    registered = sorted(name for option in group.options for name in option.names())
    page = (DOCS / "reference" / "options.md").read_text(encoding="utf-8")
    listed = sorted(re.findall(r"^## `(--[a-z-]+)", page, re.M))
    assert listed == registered
    assert "--modelguard-budget" in listed


def test_every_config_key_is_described() -> None:
    page = (DOCS / "reference" / "config.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| `([a-z_0-9]+)` \| [^|]+ \| (.*) \|$", page, re.M)
    assert {key for key, _ in rows} == {*TOP_KEYS, *BUDGET_KEYS, *PROVIDER_KEYS, *ALIAS_KEYS}
    for key, what in rows:
        assert what.strip(), f"{key}: no comment in docs/configuration.md's annotated example"


def test_every_cli_command_is_listed() -> None:
    from pytest_modelguard.cli import build_parser

    page = (DOCS / "reference" / "cli.md").read_text(encoding="utf-8")
    commands = set(re.findall(r"^#+ `modelguard ([a-z -]+)`", page, re.M))
    top = {name for name, _, _ in generator()._subcommands(build_parser())}
    assert top <= commands and "cache merge" in commands
