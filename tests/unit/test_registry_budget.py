"""A registry that does not answer costs a bounded time, and the message names its address."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest

from hocbaso.errors import RegistryUnavailable
from hocbaso.registry import SubmitItem
from hocbaso.registry.client import RegistryClient, RetryPolicy

PATIENT = RetryPolicy(attempts=100, backoff_s=0.05, backoff_max_s=0.2)


@pytest.fixture
def closed_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/api/v1"


@pytest.fixture
def silent_url() -> Iterator[str]:
    """A port that accepts connections and never answers (a hung server)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/api/v1"


@pytest.mark.parametrize("which", ["closed_url", "silent_url"])
def test_a_batch_gives_up_within_its_budget_naming_the_address(
    which: str, request: pytest.FixtureRequest
) -> None:
    url = request.getfixturevalue(which)
    items = [SubmitItem(f"id-{n}", b"<x/>", b"%PDF") for n in range(6)]
    with RegistryClient(url, "demo", "bi-mat", retry=PATIENT, max_in_flight=2) as client:
        started = time.monotonic()
        outcomes = client.submit_many(items, budget_s=1.0)
        elapsed = time.monotonic() - started
    assert elapsed < 3.5  # about the budget, not 100 attempts nor a 30-second read timeout
    assert len(outcomes) == len(items)
    assert all(isinstance(o.error, RegistryUnavailable) for o in outcomes)
    said = " ".join(o.error.message for o in outcomes if o.error is not None)
    assert f"CSDL Học bạ số tại {url}" in said


def test_the_policy_budget_bounds_a_single_call(closed_url: str) -> None:
    policy = RetryPolicy(attempts=100, backoff_s=0.05, backoff_max_s=0.2, budget_s=0.8)
    with RegistryClient(closed_url, "demo", "bi-mat", retry=policy) as client:
        started = time.monotonic()
        with pytest.raises(RegistryUnavailable) as info:
            client.submit("id-1", b"<x/>", b"%PDF")
    assert time.monotonic() - started < 2.0
    assert closed_url in info.value.message and "lần thử" in info.value.message
