"""The public surface of paycancel-wire is pinned (STYLE 11): ``__all__`` sorted, complete and
resolvable; every error sits under ``PaycancelError`` and carries a protocol ``result_code``."""

from __future__ import annotations

import ast
import importlib
import inspect
import re
import types
from pathlib import Path
from typing import Any

import pytest

import paycancel_wire
import paycancel_wire.errors
from paycancel.errors import PaycancelError

PUBLIC_MODULES = [paycancel_wire, paycancel_wire.errors]
PACKAGE_DIR = Path(paycancel_wire.__file__).parent
PRIVATE_MODULES = sorted(path.stem for path in PACKAGE_DIR.glob("_*.py") if path.stem != "__init__")


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
def test_all_is_sorted_and_unique(module: types.ModuleType) -> None:
    names: list[str] = list(module.__all__)

    assert names == sorted(names, key=_isort_key)
    assert len(set(names)) == len(names)


@pytest.mark.parametrize("module", PUBLIC_MODULES, ids=_ids(PUBLIC_MODULES))
def test_every_name_in_all_resolves(module: types.ModuleType) -> None:
    assert [name for name in module.__all__ if not hasattr(module, name)] == []


def test_the_private_modules_are_the_expected_ones() -> None:
    assert PRIVATE_MODULES == [
        "_codec",
        "_envelope",
        "_keys",
        "_signature",
        "_transport",
        "_wiretime",
    ]


@pytest.mark.parametrize("private", PRIVATE_MODULES)
def test_every_public_name_of_a_private_module_is_reexported(private: str) -> None:
    module = importlib.import_module(f"paycancel_wire.{private}")
    declared = set(module.__all__)

    assert sorted(declared - set(paycancel_wire.__all__)) == []
    for name in declared:
        assert getattr(paycancel_wire, name) is getattr(module, name), name


@pytest.mark.parametrize("private", PRIVATE_MODULES)
def test_private_modules_declare_every_public_class_and_function(private: str) -> None:
    module = importlib.import_module(f"paycancel_wire.{private}")
    defined = {
        name
        for name, value in vars(module).items()
        if not name.startswith("_")
        and (inspect.isclass(value) or inspect.isfunction(value))
        and value.__module__ == module.__name__
    }

    assert sorted(defined - set(module.__all__)) == []


def test_init_exports_exactly_what_it_imports_from_private_modules() -> None:
    tree = ast.parse((PACKAGE_DIR / "__init__.py").read_text(encoding="utf-8"))
    imported = {
        alias.asname or alias.name
        for node in tree.body
        if isinstance(node, ast.ImportFrom) and node.level == 1
        for alias in node.names
    }

    assert set(paycancel_wire.__all__) == imported
    declared = set()
    for private in PRIVATE_MODULES:
        declared |= set(importlib.import_module(f"paycancel_wire.{private}").__all__)
    assert set(paycancel_wire.__all__) == declared


def test_errors_module_lists_every_error_it_defines() -> None:
    defined = {
        name
        for name, value in vars(paycancel_wire.errors).items()
        if inspect.isclass(value) and value.__module__ == paycancel_wire.errors.__name__
    }

    assert defined == set(paycancel_wire.errors.__all__)


@pytest.mark.parametrize("name", paycancel_wire.errors.__all__)
def test_every_error_is_a_paycancel_error_with_a_result_code(name: str) -> None:
    error = getattr(paycancel_wire.errors, name)

    assert issubclass(error, PaycancelError)
    assert issubclass(error, paycancel_wire.errors.WireError)
    assert hasattr(error, "__attrs_attrs__")
    assert isinstance(error.result_code, str)
    assert re.fullmatch(r"[A-Z][A-Z_]+", error.result_code)


def test_result_codes_are_the_protocol_ones() -> None:
    errors = paycancel_wire.errors
    codes = {name: getattr(errors, name).result_code for name in errors.__all__}

    assert codes == {
        "ClockSkewError": "INVALID_SIGNATURE",
        "InsecureTransportError": "PROCESS_FAIL",
        "KeyLoadError": "KEY_NOT_FOUND",
        "KeyNotFoundError": "KEY_NOT_FOUND",
        "ParamIllegalError": "PARAM_ILLEGAL",
        "SignatureError": "INVALID_SIGNATURE",
        "UnknownClientError": "INVALID_CLIENT",
        "UnsignedResponseError": "INVALID_SIGNATURE",
        "WireError": "PROCESS_FAIL",
    }


def test_errors_are_raised_with_keywords_and_show_their_message() -> None:
    error = paycancel_wire.errors.KeyNotFoundError(
        message="no key version '2' for client 'C'", client_id="C", key_version="2"
    )

    assert str(error) == "no key version '2' for client 'C'"
    positional: Any = paycancel_wire.errors.KeyNotFoundError
    with pytest.raises(TypeError):
        positional("positional", "C", "2")
