"""Every ```python block in README.md and docs/*.md runs as-is, so the examples cannot rot.

Each block runs in a fresh namespace, as if it were a script of its own; the test id is
``page:line`` of the opening fence, and a traceback points at the page's own line numbers. The
CLI transcripts (```console blocks whose commands start with ``$ paycancel``) are replayed
against ``paycancel._cli.main`` too.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any, Iterator

import pytest
import structlog

from tests.docs._markdown import README, Fence, fences, pages

EXAMPLES = [f for page in pages() for f in fences(page) if f.language == "python"]
TRANSCRIPTS = [f for page in pages() for f in fences(page) if f.language == "console"]


@pytest.fixture(autouse=True)
def _keep_structlog_config() -> Iterator[None]:
    # An example may configure structlog as an application would; the next test must not see it.
    saved = structlog.get_config()
    yield
    structlog.configure(**saved)


def test_examples_are_found() -> None:
    assert EXAMPLES, "no ```python blocks found in README.md or docs/*.md"
    assert README in pages() or not README.exists()


@pytest.mark.parametrize("example", EXAMPLES, ids=[f.where for f in EXAMPLES])
def test_example_runs(example: Fence) -> None:
    # Padding with newlines makes tracebacks report the page's line numbers.
    source = "\n" * example.line + example.code
    code = compile(source, str(example.path), "exec")
    namespace: dict[str, Any] = {"__name__": "__docs_example__"}
    exec(code, namespace)  # noqa: S102 - running the docs' own examples is the point


def _commands(transcript: Fence) -> list[tuple[list[str], str]]:
    """``(argv, expected output)`` for each ``$ paycancel ...`` command of a transcript."""
    runs: list[tuple[list[str], str]] = []
    for line in transcript.code.rstrip("\n").split("\n"):
        if line.startswith("$ "):
            argv = shlex.split(line[2:])
            runs.append((argv, ""))
        elif runs:
            argv, output = runs[-1]
            runs[-1] = (argv, output + line + "\n")
    return [(argv[1:], output) for argv, output in runs if argv[:1] == ["paycancel"]]


@pytest.mark.parametrize("transcript", TRANSCRIPTS, ids=[f.where for f in TRANSCRIPTS])
def test_cli_transcript_matches(transcript: Fence, capsys: pytest.CaptureFixture[str]) -> None:
    cli = pytest.importorskip("paycancel._cli")
    for argv, expected in _commands(transcript):
        try:
            status = cli.main(argv)
        except SystemExit as exc:  # argparse rejects bad arguments by exiting
            status = exc.code
        out, err = capsys.readouterr()
        command = "paycancel " + " ".join(argv)
        assert out + err == expected, f"{transcript.where}: output of `{command}` differs"
        # A transcript showing an error documents exit status 2; anything else succeeds.
        assert status == (2 if "error:" in expected else 0), f"exit status of `{command}`"


def test_fence_parser(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    text = "\n".join(
        [
            "intro",
            "```python",
            "x = 1",
            "```",
            "- a list item:",
            "",
            "  ~~~~python title=demo",
            "  y = 2",
            "  ```",
            "  still code",
            "  ~~~~",
            "```pycon",
            ">>> 1",
            "```",
            "```",
            "plain",
            "```",
        ]
    )
    found = list(fences(page, text))
    assert [(f.line, f.language) for f in found] == [(2, "python"), (7, "python"), (12, "pycon"),
                                                      (15, "")]  # fmt: skip
    assert found[0].code == "x = 1"
    assert found[1].code == "y = 2\n```\nstill code"
    assert found[0].where == "page.md:2"
