"""Shared fixtures: a tiny school, a real local Prefect server, real tools on PATH."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from hocbaso.demo.sample import generate_school, write_xlsx

# The demo PKI with its TSA/OCSP/CRL services, once per test session (tests/pki_fixtures.py).
pytest_plugins = ["pki_fixtures"]

REPO_ROOT = Path(__file__).resolve().parents[1]
TINY_SCHOOL_STUDENTS = 40  # five classes of eight, one per grade


@pytest.fixture(scope="session")
def tiny_school_xlsx(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generated tiny school (grades 1-5) in the canonical .xlsx format."""
    path = tmp_path_factory.mktemp("nguon") / "truong-nho.xlsx"
    write_xlsx(generate_school(n_students=TINY_SCHOOL_STUDENTS, seed=7), path)
    return path


@pytest.fixture(scope="session")
def prefect_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One real `prefect server start` on loopback for the whole test session."""
    from hbs.prefect_server import ensure_server, stop_server

    home = tmp_path_factory.mktemp("prefect")
    saved = {k: os.environ.get(k) for k in ("PREFECT_API_URL", "PREFECT_HOME")}
    os.environ.pop("PREFECT_API_URL", None)
    api = ensure_server(home)
    try:
        yield api.api_url
    finally:
        from prefect.events.worker import EventsWorker
        from prefect.logging.handlers import APILogWorker

        # Send the last logs and events while the server still answers.
        APILogWorker.drain_all(timeout=10)
        EventsWorker.drain_all(timeout=10)
        stop_server(home)
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def require_tool(name: str) -> str:
    """The path of a Debian tool the tests use; `make test` installs them all."""
    path = shutil.which(name)
    if path is None:
        raise RuntimeError(f"{name} is not installed: run `make test`, which installs it")
    return path
