"""paycancel_antom's public surface is pinned (STYLE 11): ``__all__`` sorted, complete and
resolvable, in the package and in its ``testing`` package."""

from __future__ import annotations

import importlib
import pkgutil
import types

import pytest

import paycancel_antom
import paycancel_antom.testing
from tests.core.test_exported_members import _isort_key

PACKAGES = [paycancel_antom, paycancel_antom.testing]


def _private_modules(package: types.ModuleType) -> list[types.ModuleType]:
    return [
        importlib.import_module(f"{package.__name__}.{info.name}")
        for info in pkgutil.iter_modules(package.__path__)
        if info.name.startswith("_") and not info.ispkg
    ]


@pytest.mark.parametrize("package", PACKAGES, ids=lambda p: p.__name__)
def test_all_is_sorted_unique_and_resolves(package: types.ModuleType) -> None:
    names: list[str] = list(package.__all__)
    assert names == sorted(names, key=_isort_key)
    assert len(set(names)) == len(names)
    assert [n for n in names if not hasattr(package, n)] == []


@pytest.mark.parametrize("package", PACKAGES, ids=lambda p: p.__name__)
def test_every_public_name_of_the_private_modules_is_reexported(
    package: types.ModuleType,
) -> None:
    # Entry points of the paycancel command, and the simulator's machinery behind
    # LocalAntomGateway: not library API.
    skip = {"_cli", "_simulate_cli", "_cancel", "_reply", "_http"}
    for module in _private_modules(package):
        if module.__name__.rsplit(".", 1)[1] in skip:
            continue
        declared = set(getattr(module, "__all__", ()))
        missing = sorted(declared - set(package.__all__))
        assert missing == [], module.__name__
        for name in declared:
            assert getattr(package, name) is getattr(module, name)
