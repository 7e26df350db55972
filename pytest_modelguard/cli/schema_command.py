"""``modelguard schema suite|config``: the JSON Schemas of suites and of the settings."""

from __future__ import annotations

import argparse
import json
from typing import Any


def add_commands(sub: Any) -> None:
    command = sub.add_parser(
        "schema",
        help="print the JSON Schema of suites or of [tool.modelguard] settings",
        description="Print the JSON Schema of *.modelguard.yaml suites (suite) or of the "
        "[tool.modelguard] table (config), built from the loader's own definitions, for "
        "editors and other tools. The package ships them too: pytest_modelguard/schemas/.",
    )
    command.add_argument("what", choices=("suite", "config"), help="which schema")
    command.set_defaults(run=cmd_schema)


def schema_text(what: str) -> str:
    """The schema ``what`` (suite or config) as the JSON text the package ships."""
    if what == "suite":
        from ..grading.suite_schema import suite_schema

        schema = suite_schema()
    else:
        from ..config.config_schema import config_schema

        schema = config_schema()
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def cmd_schema(args: argparse.Namespace) -> int:
    """Print one schema."""
    print(schema_text(args.what), end="")
    return 0
