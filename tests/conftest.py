"""Suite-wide fixtures."""

from __future__ import annotations

from typing import Iterator

import pytest
import structlog


@pytest.fixture(autouse=True)
def _restore_structlog() -> Iterator[None]:
    """Commands configure structlog, as applications may; no test sees another's setup."""
    saved = structlog.get_config()
    yield
    structlog.configure(**saved)
