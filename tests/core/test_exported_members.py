"""The public surface is pinned (STYLE 11): ``__all__`` sorted, complete and resolvable, and
every fake / in-memory adapter conforms to its port for mypy (STYLE 5)."""

from __future__ import annotations

import ast
import importlib
import inspect
import re
import types
import typing
from pathlib import Path

import pytest

import paycancel
import paycancel.cli
import paycancel.errors
import paycancel.testing
import paycancel.typing
from paycancel import (
    Cancellation,
    CancellationState,
    InMemoryCancellationStore,
    InMemoryScheduler,
    InMemoryStore,
    PaymentWatch,
    SystemClock,
    WatchState,
)
from paycancel.errors import PaycancelError
from paycancel.testing import (
    AsyncScriptedCancelGateway,
    AsyncScriptedInquiryGateway,
    AsyncScriptedRefundGateway,
    FakeClock,
    FakeWallet,
    ScriptedCancelGateway,
    ScriptedInquiryGateway,
    ScriptedRefundGateway,
)
from paycancel.typing import (
    AsyncCancelGateway,
    AsyncInquiryGateway,
    AsyncRefundGateway,
    CancelGateway,
    Clock,
    FundsReversal,
    InquiryGateway,
    RecordStore,
    RefundGateway,
    Scheduler,
    Versioned,
)
from tests.core._usecase_support import T0, acqp_order

PUBLIC_MODULES = [paycancel, paycancel.testing, paycancel.errors, paycancel.typing, paycancel.cli]


def _isort_key(name: str) -> tuple[int, list[int | str]]:
    """Ruff's RUF022 order: SCREAMING_CASE, then CamelCase, then the rest; natural sort within."""
    if len(name) > 1 and name.isupper():
        group = 0
    elif name[:1].isupper():
        group = 1
    else:
        group = 2
    return group, [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


def _ids(modules: list[types.ModuleType]) -> list[str]:
    return [m.__name__ for m in modules]


@pytest.mark.parametrize("module", PUBLIC_MODULES, ids=_ids(PUBLIC_MODULES))
def test_all_is_sorted(module: types.ModuleType) -> None:
    names: list[str] = list(module.__all__)
    assert names == sorted(names, key=_isort_key)
    assert len(set(names)) == len(names)


@pytest.mark.parametrize("module", PUBLIC_MODULES, ids=_ids(PUBLIC_MODULES))
def test_every_name_in_all_resolves(module: types.ModuleType) -> None:
    missing = [name for name in module.__all__ if not hasattr(module, name)]
    assert missing == []


@pytest.mark.parametrize(
    "module",
    [paycancel.testing, paycancel.errors, paycancel.typing, paycancel.cli],
    ids=_ids([paycancel.testing, paycancel.errors, paycancel.typing, paycancel.cli]),
)
def test_public_modules_list_every_public_class_and_function_they_define(
    module: types.ModuleType,
) -> None:
    defined = {
        name
        for name, value in vars(module).items()
        if not name.startswith("_")
        and (inspect.isclass(value) or inspect.isfunction(value))
        and value.__module__ == module.__name__
    }
    assert defined - set(module.__all__) == set()


def _init_imports() -> dict[str, list[str]]:
    """``{private module: [names]}`` as ``paycancel/__init__.py`` imports them."""
    init = Path(paycancel.__file__)
    tree = ast.parse(init.read_text(encoding="utf-8"))
    imports: dict[str, list[str]] = {}
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module:
            imports.setdefault(node.module, []).extend(alias.name for alias in node.names)
    return imports


INIT_IMPORTS = _init_imports()
PRIVATE_MODULES = sorted(m for m in INIT_IMPORTS if m.startswith("_"))


def test_init_only_reexports_what_it_imports() -> None:
    imported = {name for names in INIT_IMPORTS.values() for name in names}
    assert set(paycancel.__all__) == imported
    assert "__version__" not in paycancel.__all__
    assert isinstance(paycancel.__version__, str)


@pytest.mark.parametrize("private", PRIVATE_MODULES)
def test_every_public_name_of_the_private_modules_is_reexported(private: str) -> None:
    """Complete: a name a private module declares public (its ``__all__``) reaches
    ``paycancel.__all__``; otherwise users import from ``paycancel._x`` to annotate their code."""
    module = importlib.import_module(f"paycancel.{private}")
    declared = set(getattr(module, "__all__", ()))
    assert sorted(declared - set(paycancel.__all__)) == []


def test_reexported_names_are_the_private_modules_objects() -> None:
    for private, names in INIT_IMPORTS.items():
        module = importlib.import_module(f"paycancel.{private}")
        for name in names:
            assert getattr(paycancel, name) is getattr(module, name), name


def test_errors_form_one_tree_with_fields() -> None:
    """STYLE 9: one error tree rooted at PaycancelError, errors are attrs classes."""
    for name in paycancel.errors.__all__:
        error = getattr(paycancel.errors, name)
        assert issubclass(error, PaycancelError), name
        assert hasattr(error, "__attrs_attrs__"), name


#: The positional parameters the ports have: the record store's single leading argument.
POSITIONAL_ALLOWED = {
    ("RecordStore", "create", "record"),
    ("RecordStore", "get", "key"),
    ("RecordStore", "update", "record"),
}


def test_ports_are_protocols_with_keyword_only_arguments() -> None:
    """STYLE 5: ports are small ``typing.Protocol``s with keyword-only arguments (the record
    store's single leading argument excepted)."""
    for name in paycancel.typing.__all__:
        port = getattr(paycancel.typing, name)
        assert typing.Protocol in port.__mro__, name
        for attribute, member in vars(port).items():
            if attribute.startswith("_") or not inspect.isfunction(member):
                continue
            parameters = list(inspect.signature(member).parameters.values())[1:]
            positional = [
                p.name
                for p in parameters
                if p.kind is not inspect.Parameter.KEYWORD_ONLY
                and (name, attribute, p.name) not in POSITIONAL_ALLOWED
            ]
            assert positional == [], f"{name}.{attribute}"


def test_conformance_pins_for_mypy() -> None:
    """STYLE 5/14: every shipped fake and in-memory adapter satisfies its port (mypy checks
    these assignments; the asserts keep them from being optimised into nothing)."""
    clock: Clock = FakeClock(T0)
    system_clock: Clock = SystemClock()
    cancel: CancelGateway = ScriptedCancelGateway()
    refund: RefundGateway = ScriptedRefundGateway()
    inquiry: InquiryGateway = ScriptedInquiryGateway()
    reversal: FundsReversal = FakeWallet()
    async_cancel: AsyncCancelGateway = AsyncScriptedCancelGateway(ScriptedCancelGateway())
    async_refund: AsyncRefundGateway = AsyncScriptedRefundGateway(ScriptedRefundGateway())
    async_inquiry: AsyncInquiryGateway = AsyncScriptedInquiryGateway(ScriptedInquiryGateway())
    store: RecordStore[Cancellation] = InMemoryStore[Cancellation]()
    cancellation_store: RecordStore[Cancellation] = InMemoryCancellationStore()
    watch_store: RecordStore[PaymentWatch] = InMemoryStore[PaymentWatch]()
    scheduler: Scheduler = InMemoryScheduler()
    order = acqp_order()
    records: list[Versioned] = [
        Cancellation(key=order.key, order=order, state=CancellationState.PENDING, created_at=T0),
        PaymentWatch(
            key=order.key, order=order, state=WatchState.WATCHING, started_at=T0, expires_at=T0
        ),
    ]

    assert clock.now() == T0
    assert system_clock.now().tzinfo is not None
    pinned = [
        cancel,
        refund,
        inquiry,
        reversal,
        async_cancel,
        async_refund,
        async_inquiry,
        store,
        cancellation_store,
        watch_store,
        scheduler,
    ]
    assert all(port is not None for port in pinned)
    assert [r.version for r in records] == [0, 0]
