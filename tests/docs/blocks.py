"""The shell and Python blocks of README.md and docs/*.md, and the marks that say a block cannot run.

Convention (see README.md, Contributing): every ```sh, ```bash and ```python block runs as written. A block
that cannot (it starts a long-running server, needs a machine elsewhere, shows a placeholder) carries
`<!-- docs-test: skip REASON -->` on a line of its own just above its fence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SHELL, PYTHON = ("sh", "bash", "shell"), ("python", "py", "python3")
_FENCE = re.compile(r"^```([A-Za-z0-9_+-]*)\s*$")
_SKIP = re.compile(r"^<!--\s*docs-test:\s*skip\b\s*(.*?)\s*-->\s*$")
_COMMENT = re.compile(r"^<!--.*-->\s*$")


@dataclass(frozen=True)
class Block:
    page: str  # path relative to the repository
    line: int  # of the opening fence
    language: str  # "sh" or "python"
    code: str
    skip_reason: str | None  # None: it runs

    @property
    def where(self) -> str:
        return f"{self.page}:{self.line}"


def pages() -> list[Path]:
    return [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]


def blocks_of(page: Path) -> list[Block]:
    """The runnable-language blocks of a page, in order; fences inside list items are indented alike."""
    lines = page.read_text(encoding="utf-8").splitlines()
    found: list[Block] = []
    index = 0
    while index < len(lines):
        match = _FENCE.match(lines[index].strip())
        if not match or not match.group(1):
            index += 1
            continue
        indent = len(lines[index]) - len(lines[index].lstrip())
        end = index + 1
        while end < len(lines) and lines[end].strip() != "```":
            end += 1
        language = match.group(1).lower()
        if language in SHELL + PYTHON:
            code = "\n".join(line[indent:] for line in lines[index + 1 : end]) + "\n"
            found.append(
                Block(
                    page=str(page.relative_to(REPO)),
                    line=index + 1,
                    language="sh" if language in SHELL else "python",
                    code=code,
                    skip_reason=_skip_reason(lines, index),
                )
            )
        index = end + 1
    return found


def _skip_reason(lines: list[str], fence: int) -> str | None:
    """The reason of a skip mark among the comment lines right above the fence (blank lines allowed)."""
    above = fence - 1
    while above >= 0 and (not lines[above].strip() or _COMMENT.match(lines[above].strip())):
        mark = _SKIP.match(lines[above].strip())
        if mark:
            return mark.group(1)
        above -= 1
    return None
