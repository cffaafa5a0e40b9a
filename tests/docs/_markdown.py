"""Reading the Markdown pages the docs tests check: fenced code blocks, and where they are."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path
from typing import Iterator, NamedTuple

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
README = ROOT / "README.md"

_OPEN = re.compile(r"^(?P<indent>[ ]{0,3})(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^`]*)$")


class Fence(NamedTuple):
    """A fenced code block: its page, the line of its opening fence (1-based), and its code."""

    path: Path
    line: int
    language: str
    code: str

    @property
    def where(self) -> str:
        try:
            shown = self.path.relative_to(ROOT).as_posix()
        except ValueError:  # a page outside the repository (the parser's own tests)
            shown = self.path.name
        return f"{shown}:{self.line}"


def fences(path: Path, text: str | None = None) -> Iterator[Fence]:
    """Every fenced code block of a CommonMark page, in order (unclosed blocks run to the end)."""
    lines = (path.read_text(encoding="utf-8") if text is None else text).split("\n")
    index = 0
    while index < len(lines):
        match = _OPEN.match(lines[index])
        if match is None:
            index += 1
            continue
        fence, indent = match["fence"], len(match["indent"])
        words = match["info"].split()
        close = re.compile(rf"^[ ]{{0,3}}{re.escape(fence[0])}{{{len(fence)},}}[ \t]*$")
        body: list[str] = []
        end = index + 1
        while end < len(lines) and not close.match(lines[end]):
            # CommonMark: up to the fence's own indentation is removed from each content line.
            line = lines[end]
            strip = min(indent, len(line) - len(line.lstrip(" ")))
            body.append(line[strip:])
            end += 1
        yield Fence(path, index + 1, words[0] if words else "", textwrap.dedent("\n".join(body)))
        index = end + 1


def pages() -> list[Path]:
    """The pages whose examples must run: README.md and every docs/*.md."""
    found = sorted(DOCS.glob("*.md"))
    return [README, *found] if README.exists() else found
