"""The package's shape stays as ARCHITECTURE.md says: no module is a hub (#15).

Each module imports at most ``MAX_INTERNAL`` distinct ``pytest_modelguard`` modules,
counting function-level and ``TYPE_CHECKING`` imports; ``from pkg import submodule``
counts the submodule, ``from pkg import name`` the package. The few modules allowed
more are named below with the reason and their own ceiling.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from paths import ROOT

PACKAGE = ROOT / "pytest_modelguard"
MAX_INTERNAL = 8
ALLOWED: dict[str, tuple[int, str]] = {
    "pytest_modelguard.verdict.gate": (
        10,
        "the gate's rule reads every verdict part (compare, pairing, stats, drift) and the "
        "budgets, and the judges' calibration (judges, #19: judge_min_agreement, gate_on)",
    ),
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_module(name: str) -> bool:
    where = PACKAGE.parent.joinpath(*name.split("."))
    return where.with_suffix(".py").is_file() or (where / "__init__.py").is_file()


def internal_imports(path: Path) -> set[str]:
    """The distinct pytest_modelguard modules ``path`` imports, anywhere in it."""
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("pytest_modelguard")}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                target = ".".join([*base, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            if target.split(".")[0] != "pytest_modelguard":
                continue
            submodules = {f"{target}.{a.name}" for a in node.names}
            modules = {name for name in submodules if _is_module(name)}
            found |= modules
            if len(modules) < len(submodules):
                found.add(target)
    found.discard(module)
    return found


def import_counts() -> dict[str, int]:
    return {
        _module_name(path): len(internal_imports(path)) for path in sorted(PACKAGE.rglob("*.py"))
    }


def test_the_counter_reads_every_kind_of_import() -> None:
    session = internal_imports(PACKAGE / "plugin" / "session.py")
    # a function-level import: from ..engine.agent_answers import AgentAnswers
    assert "pytest_modelguard.engine.agent_answers" in session
    assert "pytest_modelguard.verdict.gate" in session  # under TYPE_CHECKING
    plugin = internal_imports(PACKAGE / "plugin" / "__init__.py")
    assert "pytest_modelguard.plugin.options" in plugin  # from . import options
    assert "pytest_modelguard.plugin" not in plugin
    finish = internal_imports(PACKAGE / "report" / "finish.py")
    assert "pytest_modelguard.report.json_report" in finish  # inside a function


def test_no_module_is_a_hub() -> None:
    counts = import_counts()
    over = {
        name: count
        for name, count in counts.items()
        if count > ALLOWED.get(name, (MAX_INTERNAL, ""))[0]
    }
    assert not over, f"modules importing more than {MAX_INTERNAL} internal modules: {over}"


@pytest.mark.parametrize("name", sorted(ALLOWED))
def test_the_allow_list_is_needed(name: str) -> None:
    counts = import_counts()
    assert name in counts, f"{name} is allow-listed but does not exist"
    assert counts[name] > MAX_INTERNAL, f"{name} no longer needs its place on the allow-list"


def test_one_vocabulary() -> None:
    """Verdicts, evidence and gate rules are enums whose members are their JSON text."""
    import json

    from pytest_modelguard.core.vocabulary import FAILING, GATES, Evidence, GateRule, Verdict
    from pytest_modelguard.report.markdown import ICONS
    from pytest_modelguard.verdict.gate import fails

    assert set(GATES) == {rule.value for rule in GateRule}  # the Literal typed callers use
    assert json.dumps({Verdict.PASS: [Evidence.NON_INFERIOR]}) == '{"pass": ["non-inferior"]}'
    assert f"{Verdict.NOT_NON_INFERIOR}" == "not-non-inferior" == Verdict.NOT_NON_INFERIOR
    assert set(ICONS) == set(Verdict) - {Verdict.INCONCLUSIVE}  # inconclusive: the ❔ default
    passing = {Verdict.BASELINE, Verdict.PASS, Verdict.INCONCLUSIVE}
    assert set(FAILING) == set(Verdict) - passing
    assert fails("inconclusive", "non-inferiority") and not fails("inconclusive", "regression")
