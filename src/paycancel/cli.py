"""What adapters need to add subcommands to ``paycancel`` (the ``paycancel.cli`` entry points).

An adapter's entry point names a callable ``register(subparsers)``; it adds its parsers to the
top-level ``subparsers`` and sets ``func`` on each to a callable ``(args) -> int`` (the exit
status). Commands shared by several adapters (``paycancel simulate antom``, ``paycancel
simulate alipayplus``) hang under one :func:`command_group`. Raise :class:`UsageError` (or any
:class:`~paycancel.errors.PaycancelError`) for bad arguments: the CLI prints one line and exits 2.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from typing import Any, NoReturn

from .errors import PaycancelError

__all__ = [
    "ENTRY_POINT_GROUP",
    "CliParser",
    "UsageError",
    "command_group",
    "configure_logging",
    "emit",
]

ENTRY_POINT_GROUP = "paycancel.cli"


class UsageError(PaycancelError):
    """A bad command-line argument: one line on stderr, exit status 2."""

    def __init__(self, message: str) -> None:
        super().__init__(message=message)


class CliParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` that reports a bad argument in one line (exit status 2)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n")


def command_group(subparsers: Any, name: str, *, help: str) -> Any:
    """The subparsers of the group command ``name`` (created by the first adapter to ask).

    Args:
        subparsers: the top-level subparsers handed to ``register``.
        name: the group command, e.g. ``simulate``.
        help: its one-line help, used if this call creates it.

    Returns:
        The group's subparsers, to ``add_parser`` the adapter's own command on.
    """
    parser = subparsers.choices.get(name)
    if parser is None:
        parser = subparsers.add_parser(name, help=help)
        return parser.add_subparsers(
            dest=f"{name}_target", metavar="TARGET", parser_class=CliParser
        )
    for action in parser._actions:  # argparse keeps subcommands there and nowhere public
        if isinstance(action, argparse._SubParsersAction):
            return action
    raise UsageError(f"the command {name!r} exists and is not a group")  # pragma: no cover


def configure_logging(level: int = logging.WARNING) -> None:
    """Send structlog events at ``level`` and above to stderr, keeping stdout for results.

    Only for commands: the CLI is an application, so it may configure structlog; the library
    never does.
    """
    import structlog

    structlog.configure(
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
    )


def emit(args: argparse.Namespace, payload: dict[str, Any]) -> None:
    """Print ``payload`` as ``key: value`` lines, or as indented JSON with ``--json``."""
    if getattr(args, "json", False):
        print(json.dumps(payload, indent=2, ensure_ascii=False))
        return
    for key, value in payload.items():
        if isinstance(value, list):
            print(f"{key}:")
            for item in value:
                if isinstance(item, dict):
                    line = "  ".join(f"{k}={_text(v)}" for k, v in item.items())
                else:
                    line = _text(item)
                print(f"  - {line}")
        elif isinstance(value, dict):
            print(f"{key}:")
            for k, v in value.items():
                print(f"  {k}: {_text(v)}")
        else:
            print(f"{key}: {_text(value)}")


def _text(value: object) -> str:
    """Text output spells booleans as JSON does."""
    return str(value).lower() if isinstance(value, bool) else str(value)
