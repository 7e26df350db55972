"""Re-run the commands behind the docs' "real output" blocks and paste what they print.

A block is marked by the comment line before it::

    <!-- real output: pytest examples | from: REGEX | in: tutorial -->

``CMD`` runs from the repository root (``in: tutorial``: in a fresh project made of the
page's ``<!-- file: PATH -->`` blocks, the page's commands run there in order), offline,
with this checkout on ``PYTHONPATH`` and no API key in the environment; the block becomes
its output from the first line matching ``REGEX`` on. Run ``python docs/regenerate_outputs.py``
after changing what a run prints, and commit the pages it rewrote.
"""

from __future__ import annotations

import functools
import os
import re
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MARK = re.compile(r"^<!-- real output: (.+?) -->$")
FILE = re.compile(r"^<!-- file: (\S+) -->\n```[a-z]*\n(.*?)^```$", re.M | re.S)
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def pages() -> list[Path]:
    """The READMEs and every hand-written page (the generated reference has no runs)."""
    docs = sorted((ROOT / "docs").glob("*.md"))
    return [ROOT / "README.md", ROOT / "examples" / "README.md", *docs]


def parse(mark: str) -> tuple[str, str, str | None]:
    """The command, the pattern its shown output starts at, and where it runs."""
    parts = [p.strip() for p in mark.split(" | ")]
    options = dict(p.split(": ", 1) for p in parts[1:])
    return parts[0], options.get("from", ""), options.get("in")


def project_files(text: str) -> dict[str, str]:
    """The ``<!-- file: PATH -->`` blocks of a page: the project its commands run in."""
    return {path: body for path, body in FILE.findall(text)}


def run(command: str, cwd: Path) -> str:
    env = {k: v for k, v in os.environ.items() if not k.endswith(("_API_KEY", "_TOKEN"))}
    env |= {"PYTHONPATH": str(ROOT), "NO_COLOR": "1", "COLUMNS": "80"}
    argv = shlex.split(command)
    if argv[0] == "pytest":
        argv = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *argv[1:]]
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    return ANSI.sub("", done.stdout)


@functools.cache
def run_at_root(command: str) -> str:
    """A repository command's output, run once for every page that shows it."""
    return run(command, ROOT)


def shown(output: str, start: str) -> str:
    lines = output.rstrip().splitlines()
    first = next((i for i, line in enumerate(lines) if re.search(start, line)), None)
    if first is None:
        raise SystemExit(f"no line of the output matches {start!r}:\n{output}")
    return "\n".join(line.rstrip() for line in lines[first:])


def regenerate(page: Path, project: Path) -> bool:
    """Rewrite ``page``'s marked blocks; True when any changed."""
    text = page.read_text(encoding="utf-8")
    lines = text.splitlines(keepends=True)
    made = False
    for i, line in enumerate(lines):
        match = MARK.match(line.rstrip("\n"))
        if not match:
            continue
        command, start, where = parse(match.group(1))
        if where is not None and not made:
            for path, body in project_files(text).items():
                (project / path).parent.mkdir(parents=True, exist_ok=True)
                (project / path).write_text(body, encoding="utf-8")
            made = True
        output = shown(run(command, project) if where else run_at_root(command), start)
        fence = lines[i + 1]
        end = next(j for j in range(i + 2, len(lines)) if lines[j].rstrip() == "```")
        lines[i + 1 : end + 1] = [fence, output + "\n", "```\n"]
    new = "".join(lines)
    if new != text:
        page.write_text(new, encoding="utf-8")
    return new != text


def main() -> int:
    for page in pages():
        with tempfile.TemporaryDirectory() as project:
            if regenerate(page, Path(project)):
                print(f"rewrote {page.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
