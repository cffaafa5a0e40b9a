"""The generated blocks in docs/ are what ``paycancel._docgen`` renders from the data now.

A failure names the page and the block; fix it with ``python -m paycancel._docgen``
(``make docs-gen``). The coverage tests read the pages back on their own and compare them with
the data itself (``CATALOG``, ``TRANSITIONS``, the windows and policies), so a generator that
silently dropped a row would fail here too.
"""

from __future__ import annotations

import difflib
import re
import shutil
from collections import Counter
from functools import lru_cache
from pathlib import Path

import pytest

import paycancel as pc
from paycancel import _docgen
from paycancel.errors import PaycancelError
from tests.docs._markdown import DOCS

PAGES = sorted(DOCS.glob("*.md"))
EXPECTED_PAGES = {
    "cli.md",
    "decision-tables.md",
    "index.md",
    "ports-and-drivers.md",
    "retries.md",
    "roles.md",
    "state-machine.md",
    "windows.md",
}


@lru_cache(maxsize=None)
def rendered() -> dict[str, str]:
    return {name: render() for name, render in _docgen.BLOCKS.items()}


def placed() -> list[tuple[Path, str, int, int]]:
    return [
        (page, name, start, end)
        for page in PAGES
        for name, start, end in _docgen.find_blocks(page.read_text(encoding="utf-8"), str(page))
    ]


PLACED = placed()


def block(name: str) -> str:
    """The body of the first block called ``name`` as it stands in the docs."""
    for page, found, start, end in PLACED:
        if found == name:
            return "\n".join(page.read_text(encoding="utf-8").split("\n")[start:end])
    raise AssertionError(f"no generated block {name!r} in docs/")


def test_every_page_exists() -> None:
    assert {p.name for p in PAGES} >= EXPECTED_PAGES


def test_every_generated_block_is_on_a_page() -> None:
    missing = set(_docgen.BLOCKS) - {name for _, name, _, _ in PLACED}
    assert not missing, f"generated blocks on no page: {sorted(missing)}"


@pytest.mark.parametrize(
    ("page", "name", "start", "end"), PLACED, ids=[f"{p.name}:{n}" for p, n, _, _ in PLACED]
)
def test_generated_block_is_current(page: Path, name: str, start: int, end: int) -> None:
    text = page.read_text(encoding="utf-8")
    _, drifted = _docgen.apply_blocks(text, rendered(), str(page))
    if name in drifted:
        current = text.split("\n")[start:end]
        fresh = ["", *rendered()[name].split("\n"), ""]
        diff = "\n".join(
            difflib.unified_diff(current, fresh, "docs (now)", "rendered", lineterm="", n=1)
        )
        pytest.fail(
            f"docs/{page.name}: generated block {name!r} differs from the data; run "
            f"`python -m paycancel._docgen` (make docs-gen)\n{diff}"
        )


def test_renderers_are_pure() -> None:
    assert {name: render() for name, render in _docgen.BLOCKS.items()} == rendered()


# --- coverage: read the pages back and compare with the data itself ---------------------------

_HEADING = re.compile(r"^### .*: `(?P<api>[^`]+)` \(`(?P<product>[^`]+)`\)$")
_CODE_ROW = re.compile(
    r"^\| `(?P<code>[^`]+)` \| (?P<status>[SFU]) \| (?P<outcome>\w+) \| `(?P<action>\w+)` "
    r"\| (?P<retry>yes|no) \|"
)


def test_decision_tables_cover_every_catalog_row() -> None:
    rows: Counter[tuple[str, ...]] = Counter()
    product = api = None
    for line in block("decision-tables").split("\n"):
        heading = _HEADING.match(line)
        if heading is not None:
            product, api = heading["product"], heading["api"]
            continue
        row = _CODE_ROW.match(line)
        if row is not None:
            assert product is not None, f"row before a heading: {line}"
            assert api is not None, f"row before a heading: {line}"
            rows[(product, api, row["status"], row["code"], row["outcome"], row["action"],
                  row["retry"])] += 1  # fmt: skip
    expected = Counter(
        (r.product.value, r.api.value, r.status.value, r.code, r.outcome.value, r.action.value,
         "yes" if r.action.retry else "no")
        for r in pc.CATALOG
    )  # fmt: skip
    assert rows == expected
    assert pc.CATALOG_VERSION in block("decision-tables")


def test_every_code_is_on_the_decision_tables_page() -> None:
    page = (DOCS / "decision-tables.md").read_text(encoding="utf-8")
    assert {r.code for r in pc.CATALOG if f"`{r.code}`" not in page} == set()


def test_inheritance_rules_cover_every_status() -> None:
    lines = block("inheritance-rules").split("\n")
    for status in pc.ResultStatus:
        for product in pc.Product:
            for api in pc.Api:
                reading = pc.interpret(product, api, status, "NOT_A_CATALOG_CODE")
                assert not reading.known
                wanted = (
                    f"| {status.value} | {reading.outcome.value} | `{reading.action.value}` | "
                    f"{'yes' if reading.retry else 'no'} | {reading.message} |"
                )
                assert any(line.startswith(wanted) for line in lines), (status, product, api)


def test_action_vocabulary_covers_every_action() -> None:
    text = block("action-vocabulary")
    for action in pc.Action:
        assert f"| `{action.value}` | {'yes' if action.retry else 'no'} |" in text


_EDGE = re.compile(r"^\s+(?P<a>\[\*\]|\w+) --> (?P<b>\[\*\]|\w+)(?:: (?P<label>.+))?$")


def test_state_diagram_covers_every_state_and_transition() -> None:
    text = block("state-diagram")
    assert "```mermaid\nstateDiagram-v2\n" in text
    edges: dict[tuple[str, str], set[str]] = {}
    for line in text.split("\n"):
        edge = _EDGE.match(line)
        if edge is not None:
            labels = edge["label"].split(", ") if edge["label"] else []
            edges.setdefault((edge["a"], edge["b"]), set()).update(labels)
    drawn_states = {s for pair in edges for s in pair} - {"[*]"}
    assert drawn_states == {s.value for s in pc.CancellationState}

    notes = [line for line in text.split("\n") if line.startswith("Not drawn:")]
    drawn = 0
    for (before, trigger), after in pc.TRANSITIONS.items():
        if before is after:
            assert any(
                f"`{trigger.value}`" in note and f"`{before.value}`" in note for note in notes
            ), f"self-loop {before.value} on {trigger.value} is neither drawn nor noted"
        else:
            assert trigger.value in edges.get((before.value, after.value), set())
            drawn += 1
    # Nothing is drawn that the table does not hold.
    inner = {k: v for k, v in edges.items() if "[*]" not in k}
    assert sum(len(v) for v in inner.values()) == drawn

    final = {a for a, b in edges if b == "[*]"}
    assert final == {s.value for s in pc.TERMINAL_STATES}
    initial = {b for a, b in edges if a == "[*]"}
    assert initial == {pc.CancellationState.PENDING.value}


_TRANSITION_ROW = re.compile(r"^\| `(\w+)` \| `(\w+)` \| `(\w+)` \| (yes|no) \|$")


def test_transition_table_lists_every_transition() -> None:
    rows = [m.groups() for m in map(_TRANSITION_ROW.match, block("transition-table").split("\n"))
            if m is not None]  # fmt: skip
    expected = [
        (before.value, trigger.value, after.value, "yes" if after.terminal else "no")
        for (before, trigger), after in pc.TRANSITIONS.items()
    ]
    assert rows == expected


def test_windows_block_covers_every_product() -> None:
    text = block("windows")
    for product in pc.Product:
        assert f"| `{product.value}` |" in text
    for window in (pc.ACQP_WINDOW, pc.MPP_WINDOW):
        assert window.describe() in text
    assert "| `antom` | none |" in text  # Antom has no default (S4)


def test_retry_policies_block_covers_every_product() -> None:
    text = block("retry-policies")
    for product in pc.Product:
        assert f"(`{product.value}`)" in text
    for policy in (pc.ACQP_RETRY_POLICY, pc.ANTOM_RETRY_POLICY):
        assert f"Policy `{policy.name}`" in text
        assert policy.cutoff_rule in text
        assert policy.escalate_to in text
        for phase in policy.phases:
            assert f"`{phase.name}`" in text


# --- the command: --check, rewriting, and marker errors ----------------------------------------


@pytest.fixture
def docs_copy(tmp_path: Path) -> Path:
    """A copy of docs/ with every block current (whether or not the real docs are)."""
    target = tmp_path / "docs"
    shutil.copytree(DOCS, target)
    for page in target.glob("*.md"):
        text, _ = _docgen.apply_blocks(page.read_text(encoding="utf-8"), rendered(), str(page))
        page.write_text(text, encoding="utf-8")
    return target


def test_check_names_drifted_block_and_writes_nothing(
    docs_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    page = docs_copy / "state-machine.md"
    text = page.read_text(encoding="utf-8")
    lines = text.split("\n")
    for _, start, end in _docgen.find_blocks(text):  # tamper with the generated parts only
        lines[start:end] = [line.replace("plan_exhausted", "gave_up") for line in lines[start:end]]
    stale = "\n".join(lines)
    assert stale != text
    page.write_text(stale, encoding="utf-8")

    assert _docgen.main(["--check", "--docs", str(docs_copy)]) == 1
    out, _ = capsys.readouterr()
    assert "state-machine.md: transition-table" in out
    assert "state-machine.md: state-diagram" in out
    assert "decision-tables" not in out
    assert page.read_text(encoding="utf-8") == stale

    assert _docgen.main(["--docs", str(docs_copy)]) == 0
    assert page.read_text(encoding="utf-8") == text
    assert _docgen.main(["--check", "--docs", str(docs_copy)]) == 0


def test_check_passes_on_the_real_docs(capsys: pytest.CaptureFixture[str]) -> None:
    assert _docgen.main(["--check", "--docs", str(DOCS)]) == 0, capsys.readouterr().out


def test_a_block_on_no_page_is_reported(
    docs_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (docs_copy / "windows.md").unlink()
    assert _docgen.main(["--check", "--docs", str(docs_copy)]) == 1
    assert "'windows' is on no page" in capsys.readouterr().err


def test_docs_dir_is_found_from_a_subdirectory(
    docs_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    nested = docs_copy.parent / "src" / "pkg"
    nested.mkdir(parents=True)
    monkeypatch.chdir(nested)
    assert _docgen.main(["--check"]) == 0


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("<!-- BEGIN GENERATED: nope -->\n<!-- END GENERATED: nope -->\n", "unknown"),
        ("<!-- BEGIN GENERATED: windows -->\n", "no END"),
        ("<!-- END GENERATED: windows -->\n", "without its BEGIN"),
        (
            "<!-- BEGIN GENERATED: windows -->\n<!-- BEGIN GENERATED: windows -->\n",
            "begins inside",
        ),
    ],
)
def test_bad_markers_are_errors(
    text: str, problem: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(PaycancelError, match=problem):
        _docgen.find_blocks(text)
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "page.md").write_text(text, encoding="utf-8")
    assert _docgen.main(["--docs", str(tmp_path / "docs")]) == 2
    assert problem in capsys.readouterr().err


def test_apply_blocks_only_touches_block_bodies() -> None:
    text = "before\n<!-- BEGIN GENERATED: windows -->\nold\n<!-- END GENERATED: windows -->\nafter"
    new, drifted = _docgen.apply_blocks(text, {"windows": "fresh"})
    assert drifted == ["windows"]
    assert new.split("\n") == [
        "before",
        "<!-- BEGIN GENERATED: windows -->",
        "",
        "fresh",
        "",
        "<!-- END GENERATED: windows -->",
        "after",
    ]
    assert _docgen.apply_blocks(new, {"windows": "fresh"}) == (new, [])
