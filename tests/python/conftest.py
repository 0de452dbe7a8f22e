"""Session fixtures: the release wasm module and the debug CLI, each built once."""

from __future__ import annotations

from pathlib import Path

import pytest

from support import Module, build_cli, build_module


@pytest.fixture(scope="session")
def wasm() -> Module:
    return build_module()


@pytest.fixture(scope="session")
def cli() -> Path:
    return build_cli()
