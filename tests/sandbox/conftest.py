"""Fixtures: a small test corp served by a fresh sandbox per test."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from sandbox_corp import TEST_CORP, Client

from wecom_sandbox import Sandbox


@pytest.fixture
def corp() -> dict[str, Any]:
    return copy.deepcopy(TEST_CORP)


@pytest.fixture
def sb(corp: dict[str, Any]):
    with Sandbox(corp) as sandbox:
        yield sandbox


@pytest.fixture
def client(sb: Sandbox) -> Client:
    return Client(sb)
