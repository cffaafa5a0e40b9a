"""Docs generated from the library's own data, so the docs cannot drift from the code.

Every renderer is a pure function of paycancel's data (``CATALOG``, ``TRANSITIONS``, the built-in
windows and retry policies) and returns Markdown. The pages in ``docs/`` hold the output between
marker comments::

    <!-- BEGIN GENERATED: decision-tables -->
    ...
    <!-- END GENERATED: decision-tables -->

``python -m paycancel._docgen`` rewrites those blocks in place; ``--check`` writes nothing, names
the blocks that differ and exits 1. Only :func:`main` touches files.
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import sys
from pathlib import Path
from typing import Callable, Iterable, Sequence

from ._catalog import CATALOG, CATALOG_VERSION, Action, CodeRule, interpret
from ._product import Api, Product, ResultStatus
from ._retry import RetryPhase, RetryPolicy, default_retry_policy, plan_for
from ._state import TERMINAL_STATES, TRANSITIONS, CancellationState, Trigger
from ._time import UTC8, isoformat
from ._window import WindowPolicy, builtin_window
from .errors import PaycancelError, ValidationError

__all__ = [
    "BLOCKS",
    "apply_blocks",
    "find_blocks",
    "main",
    "render_action_vocabulary",
    "render_decision_tables",
    "render_inheritance_rules",
    "render_retry_example",
    "render_retry_policies",
    "render_state_diagram",
    "render_transition_table",
    "render_windows",
    "table_heading",
]

_PRODUCT_LABEL = {
    Product.ALIPAYPLUS_ACQP: "Alipay+ ACQP",
    Product.ALIPAYPLUS_MPP: "Alipay+ MPP",
    Product.ANTOM: "Antom",
}

#: What each table is about; a pair missing here still gets a table with a plain heading.
_TABLE_ABOUT = {
    (Product.ALIPAYPLUS_ACQP, Api.CANCEL): "What Alipay+ answers to the ACQP's `cancelPayment`.",
    (Product.ALIPAYPLUS_ACQP, Api.INQUIRY): (
        "The `result` of `inquiryPayment`: did the inquiry itself work."
    ),
    (Product.ALIPAYPLUS_ACQP, Api.PAYMENT_RESULT): (
        "`paymentResult` as carried by `pay`, `inquiryPayment` and `notifyPayment`: "
        "these decide *when* the ACQP cancels."
    ),
    (Product.ALIPAYPLUS_ACQP, Api.REFUND): (
        "What Alipay+ answers to `refund`, the fallback after `CANCEL_WINDOW_EXCEED`."
    ),
    (
        Product.ALIPAYPLUS_MPP,
        Api.CANCEL,
    ): "What the wallet (MPP) answers to Alipay+'s `cancelPayment`.",
    (Product.ANTOM, Api.CANCEL): "What Antom answers to the merchant's `cancel`.",
}

_ACTION_TEXT = {
    Action.MARK_CANCELLED: "The cancel succeeded: mark the order cancelled.",
    Action.RETRY_SAME_REQUEST: "The result is unknown: resend the same request on the retry plan.",
    Action.REFUND_INSTEAD: "Too late to cancel: refund the full amount instead.",
    Action.FIX_REQUEST: "The request is wrong (path, method, parameters): fix it, then resend.",
    Action.FIX_CREDENTIALS: "Client id, key or signature is wrong: fix the credentials.",
    Action.RETRY_LATER: (
        "Resending can work once a condition changes (e.g. the merchant balance is funded); "
        "paycancel does not schedule it."
    ),
    Action.CONTACT_SUPPORT: "Only the platform's support can resolve it.",
    Action.MANUAL_REVIEW: "paycancel cannot tell what happened: a person looks at it.",
    Action.DO_NOT_RETRY: "Final: resending will not change the answer.",
}

#: Fixed instants for the worked examples (the docs must render the same on every run).
_EXAMPLE_INITIATIONS = (
    dt.datetime(2024, 5, 1, 10, 0, tzinfo=UTC8),
    dt.datetime(2024, 5, 1, 23, 59, tzinfo=UTC8),
    dt.datetime(2024, 5, 1, 16, 30, tzinfo=dt.timezone.utc),
)
_EXAMPLE_PLAN_INITIATED = dt.datetime(2024, 5, 1, 23, 40, tzinfo=UTC8)
_EXAMPLE_PLAN_FIRST_UNKNOWN = dt.datetime(2024, 5, 2, 0, 5, tzinfo=UTC8)
_EXAMPLE_JITTER_KEY = "alipayplus-acqp:request:example"

#: A code no catalog holds, used to read the inheritance rules through ``interpret``.
_UNLISTED = "\x00unlisted"


# --- small formatting helpers ------------------------------------------------------------------


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines.extend("| " + " | ".join(_cell(c) for c in row) + " |" for row in rows)
    return lines


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def _duration(value: dt.timedelta) -> str:
    seconds = value.total_seconds()
    if seconds and seconds % 3600 == 0:
        return f"{int(seconds // 3600)} h"
    if seconds >= 60 and seconds % 60 == 0:  # noqa: PLR2004 - seconds in a minute
        return f"{int(seconds // 60)} min"
    if seconds == int(seconds):
        return f"{int(seconds)} s"
    return f"{seconds:g} s"


def _zone(zone: dt.tzinfo) -> str:
    return zone.tzname(None) or str(zone)


# --- (a) decision tables -----------------------------------------------------------------------


def _table_keys() -> list[tuple[Product, Api]]:
    keys: list[tuple[Product, Api]] = []
    for rule in CATALOG:
        if (rule.product, rule.api) not in keys:
            keys.append((rule.product, rule.api))
    return keys


def table_heading(product: Product, api: Api) -> str:
    """The heading of one decision table; the product and API values are machine-readable."""
    label = _PRODUCT_LABEL.get(product, product.value)
    return f"### {label}: `{api.value}` (`{product.value}`)"


def _row(rule: CodeRule) -> list[str]:
    return [
        f"`{rule.code}`",
        rule.status.value,
        rule.outcome.value,
        f"`{rule.action.value}`",
        _yes(rule.action.retry),
        rule.message,
        rule.source,
    ]


def render_decision_tables() -> str:
    """One table per product and API, every row of ``CATALOG`` in catalog order."""
    lines = [f"Catalog version `{CATALOG_VERSION}`, {len(CATALOG)} rows.", ""]
    header = ("code", "status", "outcome", "action", "retry", "message", "source")
    for product, api in _table_keys():
        lines += [table_heading(product, api), ""]
        about = _TABLE_ABOUT.get((product, api))
        if about:
            lines += [about, ""]
        rows = [_row(r) for r in CATALOG if r.product is product and r.api is api]
        lines += [*_table(header, rows), ""]
    return "\n".join(lines).rstrip("\n")


def render_inheritance_rules() -> str:
    """What an unlisted code means: it inherits the behaviour of its status.

    Raises:
        ValidationError: the inherited reading of a status differs between products or APIs
            (the one-row-per-status table would then be wrong; teach this renderer first).
    """
    rows: list[list[str]] = []
    for status in ResultStatus:
        readings = {
            (r.outcome.value, r.action.value, _yes(r.retry), r.message)
            for r in (interpret(p, a, status, _UNLISTED) for p in Product for a in Api)
        }
        if len(readings) != 1:
            raise ValidationError(
                message=f"unlisted {status.value} codes read differently by product or API",
                field="status",
            )
        ((outcome, action, retry, message),) = readings
        rows.append([status.value, outcome, f"`{action}`", retry, message])
    lines = _table(("status", "outcome", "action", "retry", "message"), rows)
    return "\n".join([*lines, "", "The same for every product and API."])


def render_action_vocabulary() -> str:
    """The one vocabulary of next steps, with whether each allows a resend."""
    missing = [a.value for a in Action if a not in _ACTION_TEXT]
    if missing:
        raise ValidationError(
            message=f"_docgen has no description for action(s) {', '.join(missing)}",
            field="action",
        )
    rows = [[f"`{a.value}`", _yes(a.retry), _ACTION_TEXT[a]] for a in Action]
    return "\n".join(_table(("action", "retry", "meaning"), rows))


# --- (b) the state machine ---------------------------------------------------------------------


def _initial_states() -> list[CancellationState]:
    targets = {after for (before, _), after in TRANSITIONS.items() if before is not after}
    sources = [before for (before, _) in TRANSITIONS]
    return [s for s in CancellationState if s in sources and s not in targets]


def _self_loops() -> dict[Trigger, list[CancellationState]]:
    loops: dict[Trigger, list[CancellationState]] = {}
    for (before, trigger), after in TRANSITIONS.items():
        if before is after:
            loops.setdefault(trigger, []).append(before)
    return loops


def render_state_diagram() -> str:
    """A Mermaid ``stateDiagram-v2`` of ``TRANSITIONS``; self-loops are listed below it."""
    edges: dict[tuple[CancellationState, CancellationState], list[str]] = {}
    for (before, trigger), after in TRANSITIONS.items():
        if before is not after:
            edges.setdefault((before, after), []).append(trigger.value)
    lines = ["```mermaid", "stateDiagram-v2"]
    lines += [f"    [*] --> {s.value}" for s in _initial_states()]
    lines += [f"    {a.value} --> {b.value}: {', '.join(t)}" for (a, b), t in edges.items()]
    terminal = [s for s in CancellationState if s in TERMINAL_STATES]
    lines += [f"    {s.value} --> [*]" for s in terminal]
    lines += [
        "    classDef terminal font-weight:bold,stroke-width:3px",
        "    class " + ",".join(s.value for s in terminal) + " terminal",
        "```",
        "",
    ]
    for trigger, states in _self_loops().items():
        names = ", ".join(f"`{s.value}`" for s in states)
        lines.append(
            f"Not drawn: `{trigger.value}` leaves each of {names} where it is (a self-loop)."
        )
        lines.append("")
    names = ", ".join(f"`{s.value}`" for s in terminal)
    lines.append(f"Terminal states (bold, `--> [*]`): {names}. They absorb every trigger.")
    return "\n".join(lines)


def render_transition_table() -> str:
    """Every entry of ``TRANSITIONS``, in table order."""
    rows = [
        [f"`{before.value}`", f"`{trigger.value}`", f"`{after.value}`", _yes(after.terminal)]
        for (before, trigger), after in TRANSITIONS.items()
    ]
    return "\n".join(_table(("from", "trigger", "to", "to a terminal state"), rows))


# --- (c) windows and retry policies ------------------------------------------------------------


def _window(product: Product) -> WindowPolicy | None:
    try:
        return builtin_window(product)
    except PaycancelError:
        return None


def render_windows() -> str:
    """The built-in window of each product, and worked deadlines for fixed instants."""
    rows: list[list[str]] = []
    for product in Product:
        window = _window(product)
        if window is None:
            no_default = "no default: configure the contract's window"
            rows.append([f"`{product.value}`", "none", "-", "-", "-", "-", no_default])
            continue
        rows.append(
            [
                f"`{product.value}`",
                f"`{window.name}`",
                window.cutoff.strftime("%H:%M"),
                f"T+{window.day_offset}",
                _zone(window.zone),
                _duration(window.safety_margin),
                window.describe(),
            ]
        )
    header = ("product", "window", "cut-off", "day", "zone", "safety margin", "description")
    lines = _table(header, rows)
    builtins = [(p, w) for p in Product for w in [_window(p)] if w is not None]
    lines += ["", "Worked deadlines (`cancellable_until`, exclusive):", ""]
    ex_rows = [
        [isoformat(at)] + [isoformat(w.cancellable_until(at)) for _, w in builtins]
        for at in _EXAMPLE_INITIATIONS
    ]
    lines += _table(("initiated_at", *(f"`{p.value}`" for p, _ in builtins)), ex_rows)
    return "\n".join(lines)


def _bound(phase: RetryPhase) -> str:
    if phase.attempts is not None:
        return f"{phase.attempts} attempts"
    assert phase.within is not None
    return f"while within {_duration(phase.within)} of the first unknown result"


def _policy(product: Product) -> RetryPolicy | None:
    try:
        return default_retry_policy(product)
    except PaycancelError:
        return None


def render_retry_policies() -> str:
    """The default retry policy of each product: phases, final step, escalation, cut-off rule."""
    lines: list[str] = []
    for product in Product:
        policy = _policy(product)
        label = _PRODUCT_LABEL.get(product, product.value)
        lines += [f"### {label} (`{product.value}`)", ""]
        if policy is None:
            lines += ["No retry policy: this role receives cancels; the caller retries.", ""]
            continue
        rows = [
            [f"`{p.name}`", _duration(p.min_gap), _duration(p.max_gap), _bound(p)]
            for p in policy.phases
        ]
        lines += [f"Policy `{policy.name}`:", ""]
        lines += _table(("phase", "min gap", "max gap", "bounded by"), rows)
        lines += [
            "",
            f"- then: `{policy.then.value}`",
            f"- escalate_to: {policy.escalate_to or '(not set)'}",
            f"- cutoff_rule: {policy.cutoff_rule or '(not set)'}",
            "",
        ]
    return "\n".join(lines).rstrip("\n")


def render_retry_example() -> str:
    """One ACQP plan near midnight, with the attempts that fall after the cut-off marked."""
    plan = plan_for(
        product=Product.ALIPAYPLUS_ACQP,
        initiated_at=_EXAMPLE_PLAN_INITIATED,
        first_unknown_at=_EXAMPLE_PLAN_FIRST_UNKNOWN,
        jitter_key=_EXAMPLE_JITTER_KEY,
    )
    call = (
        f"`plan_for(product=Product.ALIPAYPLUS_ACQP, "
        f"initiated_at={isoformat(_EXAMPLE_PLAN_INITIATED)}, "
        f"first_unknown_at={isoformat(_EXAMPLE_PLAN_FIRST_UNKNOWN)}, "
        f'jitter_key="{_EXAMPLE_JITTER_KEY}")`:'
    )
    lines = [call, ""]
    rows = [
        [str(a.number), isoformat(a.at.astimezone(UTC8)), f"`{a.phase}`", _yes(a.after_cutoff)]
        for a in plan.attempts
    ]
    lines += _table(("attempt", "at (UTC+8)", "phase", "after cut-off"), rows)
    lines += ["", f"Then: `{plan.then.value}`. {plan.describe_cutoff()}"]
    return "\n".join(lines)


#: Every generated block by name. A page holds any of them between markers.
BLOCKS: dict[str, Callable[[], str]] = {
    "action-vocabulary": render_action_vocabulary,
    "decision-tables": render_decision_tables,
    "inheritance-rules": render_inheritance_rules,
    "retry-example": render_retry_example,
    "retry-policies": render_retry_policies,
    "state-diagram": render_state_diagram,
    "transition-table": render_transition_table,
    "windows": render_windows,
}

# --- markers -----------------------------------------------------------------------------------

_BEGIN = re.compile(r"^<!-- BEGIN GENERATED: (?P<name>[a-z0-9-]+) -->$")
_END = re.compile(r"^<!-- END GENERATED: (?P<name>[a-z0-9-]+) -->$")


def find_blocks(text: str, where: str = "<text>") -> list[tuple[str, int, int]]:
    """The generated blocks of a page as ``(name, first body line, end marker line)``, 0-based.

    Raises:
        ValidationError: unbalanced or nested markers, or an unknown block name.
    """
    blocks: list[tuple[str, int, int]] = []
    open_name: str | None = None
    start = 0
    for number, line in enumerate(text.split("\n")):
        begin, end = _BEGIN.match(line.strip()), _END.match(line.strip())
        if begin is not None:
            if open_name is not None:
                raise ValidationError(
                    message=f"{where}:{number + 1}: block {begin['name']!r} begins inside "
                    f"block {open_name!r}",
                    field="markers",
                )
            open_name, start = begin["name"], number + 1
            if open_name not in BLOCKS:
                raise ValidationError(
                    message=f"{where}:{number + 1}: unknown generated block {open_name!r} "
                    f"(known: {', '.join(sorted(BLOCKS))})",
                    field="markers",
                )
        elif end is not None:
            if open_name is None or open_name != end["name"]:
                raise ValidationError(
                    message=f"{where}:{number + 1}: END of {end['name']!r} without its BEGIN",
                    field="markers",
                )
            blocks.append((open_name, start, number))
            open_name = None
    if open_name is not None:
        raise ValidationError(
            message=f"{where}: block {open_name!r} has no END marker", field="markers"
        )
    return blocks


def apply_blocks(
    text: str, rendered: dict[str, str], where: str = "<text>"
) -> tuple[str, list[str]]:
    """Replace each block's body with ``rendered[name]``.

    Returns:
        The new text and the names of the blocks whose body changed, in page order.
    """
    lines = text.split("\n")
    drifted: list[str] = []
    for name, start, end in reversed(find_blocks(text, where)):
        # Blank lines around the body keep the Markdown blocks apart from the marker comments.
        body = ["", *rendered[name].split("\n"), ""]
        if lines[start:end] != body:
            drifted.insert(0, name)
            lines[start:end] = body
    return "\n".join(lines), drifted


def _docs_dir(given: str | None) -> Path:
    if given is not None:
        return Path(given)
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if (folder / "docs").is_dir():
            return folder / "docs"
    raise ValidationError(
        message=f"no docs/ directory in {here} or its parents; pass --docs", field="docs"
    )


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def main(argv: Sequence[str] | None = None) -> int:
    """Rewrite (or with ``--check`` only compare) the generated blocks of ``docs/*.md``.

    Returns:
        0 when everything is (now) up to date, 1 when ``--check`` found drift or a block is on
        no page, 2 on a usage or marker error.
    """
    parser = argparse.ArgumentParser(
        prog="python -m paycancel._docgen", description="Regenerate the generated docs blocks."
    )
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 on drift")
    parser.add_argument("--docs", help="the docs directory (default: ./docs or a parent's)")
    args = parser.parse_args(argv)
    try:
        docs = _docs_dir(args.docs)
        rendered = {name: render() for name, render in BLOCKS.items()}
        seen: set[str] = set()
        drift: list[str] = []
        for page in sorted(docs.glob("*.md")):
            text = page.read_text(encoding="utf-8")
            new, drifted = apply_blocks(text, rendered, str(page))
            seen.update(name for name, _, _ in find_blocks(text, str(page)))
            drift += [f"{_shown(page)}: {name}" for name in drifted]
            if drifted and not args.check:
                with page.open("w", encoding="utf-8", newline="\n") as out:
                    out.write(new)
    except PaycancelError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    unplaced = sorted(set(BLOCKS) - seen)
    for name in unplaced:
        print(f"block {name!r} is on no page in {docs}", file=sys.stderr)
    verb = "drifted" if args.check else "rewritten"
    for entry in drift:
        print(f"{verb}: {entry}")
    if args.check and drift:
        print("run `python -m paycancel._docgen` to regenerate", file=sys.stderr)
    return 1 if unplaced or (args.check and drift) else 0


if __name__ == "__main__":
    sys.exit(main())
