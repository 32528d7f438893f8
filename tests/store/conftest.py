from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.store.pg import Server, start


@pytest.fixture(scope="session")
def pg_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from start(tmp_path_factory.mktemp("pg"))
