"""RegistryClient against the real stand-in on 127.0.0.1: the spec's answers and faults."""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from hocbaso.demo.registry import (
    Faults,
    RunningServer,
    SchoolClient,
    StandinServer,
    pdf_attaching,
    sample_package,
    sample_xml,
)
from hocbaso.errors import RegistryRejected, RegistryUnavailable
from hocbaso.registry import (
    InvalidMaTraCuu,
    Outcome,
    RegistryClient,
    RetryPolicy,
    SubmitItem,
    is_valid_ma_tra_cuu,
)
from hocbaso.registry.results import Refusal

STUDENT = "Trần Thị Bích Ngọc"
FAST = RetryPolicy(attempts=5, backoff_s=0.01, backoff_max_s=0.05)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RunningServer]:
    with StandinServer(tmp_path / "registry").serve() as running:
        yield running


@pytest.fixture
def client(server: RunningServer) -> Iterator[RegistryClient]:
    with RegistryClient(server.api_url, "demo", "demo-secret", retry=FAST, seed=1) as c:
        yield c


def _leaks_nothing(error: Exception, *secrets: str) -> None:
    text = str(error) + (getattr(error, "hint", None) or "")
    for secret in secrets:
        assert secret not in text


def test_submit_creates_then_same_bytes_are_held(
    server: RunningServer, client: RegistryClient
) -> None:
    item = sample_package("hb-0001", ho_va_ten=STUDENT)
    first = client.submit(item.ma_hoc_ba, item.xml, item.pdf)
    again = client.submit(item.ma_hoc_ba, item.xml, item.pdf)
    assert (first.status, again.status) == ("created", "held")
    assert first.sha256 == hashlib.sha256(item.xml).hexdigest() == again.sha256
    assert first.ma_tra_cuu == again.ma_tra_cuu and is_valid_ma_tra_cuu(first.ma_tra_cuu)
    assert first.received_at == again.received_at
    status = client.status("hb-0001")
    assert status is not None and status.trang_thai == "accepted"
    assert status.ma_tra_cuu == first.ma_tra_cuu
    assert server.standin.storage.answers("PUT") == [201, 200]
    assert server.standin.storage.blobs("hb-0001") == (item.xml, item.pdf)


def test_different_bytes_under_an_issued_id_conflict(client: RegistryClient) -> None:
    item = sample_package("hb-0002", ho_va_ten=STUDENT)
    client.submit(item.ma_hoc_ba, item.xml, item.pdf)
    other = sample_package("hb-0002", ho_va_ten=STUDENT, nam_hoc="2024-2025")
    with pytest.raises(RegistryRejected) as info:
        client.submit(other.ma_hoc_ba, other.xml, other.pdf)
    assert (info.value.code, info.value.status) == ("CONFLICT", 409)
    assert "thu hồi" in (info.value.hint or "")
    _leaks_nothing(info.value, STUDENT, "hb-0002")


def _other_xml_pdf() -> tuple[bytes, bytes]:
    xml = sample_xml("hb-0003")
    return xml, pdf_attaching(sample_xml("hb-0003", ho_va_ten="Khác"))


@pytest.mark.parametrize(
    ("xml", "pdf", "code"),
    [
        (*_other_xml_pdf(), "MISMATCH"),
        (sample_xml("hb-0003"), pdf_attaching(None), "MISMATCH"),
        (sample_xml("hb-0003"), b"%PDF-1.7 not really", "MISMATCH"),
        (sample_xml("hb-9999"), pdf_attaching(sample_xml("hb-9999")), "ID"),
        (b"<hocba><unclosed>", pdf_attaching(b"<hocba><unclosed>"), "XSD"),
        (b"<other/>", pdf_attaching(b"<other/>"), "XSD"),
    ],
    ids=[
        "pdf-attaches-other-xml",
        "pdf-attaches-nothing",
        "pdf-unreadable",
        "id-differs",
        "not-well-formed",
        "not-a-record",
    ],
)
def test_invalid_records_are_rejected_422(
    server: RunningServer, client: RegistryClient, xml: bytes, pdf: bytes, code: str
) -> None:
    with pytest.raises(RegistryRejected) as info:
        client.submit("hb-0003", xml, pdf)
    assert (info.value.code, info.value.status) == (code, 422)
    assert info.value.hint
    _leaks_nothing(info.value, STUDENT, "hb-0003")
    assert server.standin.storage.count_records() == 0


def test_extra_verifier_sees_the_bytes_and_its_refusal_is_422(tmp_path: Path) -> None:
    seen: list[tuple[bytes, bytes]] = []

    def verifier(xml: bytes, pdf: bytes) -> list[Refusal]:
        seen.append((xml, pdf))
        return [Refusal("SIGNATURE", "Chữ ký của hiệu trưởng không hợp lệ.")]

    item = sample_package("hb-0004")
    with (
        StandinServer(tmp_path, verifier=verifier).serve() as running,
        RegistryClient(running.api_url, "demo", "demo-secret", retry=FAST) as c,
        pytest.raises(RegistryRejected) as info,
    ):
        c.submit(item.ma_hoc_ba, item.xml, item.pdf)
    assert info.value.code == "SIGNATURE" and "hiệu trưởng" in info.value.message
    assert seen == [(item.xml, item.pdf)]


def test_expired_token_is_renewed_once(server: RunningServer, client: RegistryClient) -> None:
    a, b = sample_package("hb-0010"), sample_package("hb-0011")
    client.submit(a.ma_hoc_ba, a.xml, a.pdf)
    assert server.standin.expire_tokens() == 1
    assert client.submit(b.ma_hoc_ba, b.xml, b.pdf).status == "created"


def test_wrong_secret_is_rejected_not_retried(server: RunningServer) -> None:
    item = sample_package("hb-0012")
    with (
        RegistryClient(server.api_url, "demo", "wrong", retry=FAST) as c,
        pytest.raises(RegistryRejected) as info,
    ):
        c.submit(item.ma_hoc_ba, item.xml, item.pdf)
    assert (info.value.code, info.value.status) == ("AUTH", 401)
    assert "school.toml" in (info.value.hint or "")
    _leaks_nothing(info.value, "wrong", "demo-secret")


def test_429_waits_at_least_retry_after(server: RunningServer, client: RegistryClient) -> None:
    item = sample_package("hb-0020")
    client.status("hb-0020")  # holds a token, so the burst hits the PUT
    server.standin.set_faults(Faults(burst_429=1, retry_after_s=1))
    started = time.monotonic()
    receipt = client.submit(item.ma_hoc_ba, item.xml, item.pdf)
    assert time.monotonic() - started >= 1.0
    assert receipt.status == "created"


def test_retry_after_beyond_the_policy_gives_up_at_once(server: RunningServer) -> None:
    policy = RetryPolicy(attempts=5, backoff_s=0.01, max_retry_after_s=5)
    server.standin.set_faults(Faults(burst_429=1, retry_after_s=60))
    started = time.monotonic()
    with (
        RegistryClient(server.api_url, "demo", "demo-secret", retry=policy) as c,
        pytest.raises(RegistryUnavailable) as info,
    ):
        c.status("hb-0021")
    assert time.monotonic() - started < 2
    assert "429" in info.value.message


def test_5xx_is_retried_until_it_passes(server: RunningServer, client: RegistryClient) -> None:
    item = sample_package("hb-0030")
    client.status("hb-0030")
    server.standin.set_faults(Faults(burst_5xx=3))
    assert client.submit(item.ma_hoc_ba, item.xml, item.pdf).status == "created"
    assert server.standin.storage.answers("PUT") == [201]


def test_5xx_that_persists_is_unavailable(server: RunningServer) -> None:
    server.standin.set_faults(Faults(rate_5xx=1.0))
    item = sample_package("hb-0031")
    policy = RetryPolicy(attempts=3, backoff_s=0.01, backoff_max_s=0.02)
    with (
        RegistryClient(server.api_url, "demo", "demo-secret", retry=policy) as c,
        pytest.raises(RegistryUnavailable) as info,
    ):
        c.submit(item.ma_hoc_ba, item.xml, item.pdf)
    assert "3 lần thử" in info.value.message and "503" in info.value.message
    assert "chạy lại" in (info.value.hint or "")
    assert server.standin.storage.count_records() == 0


def test_connection_refused_is_unavailable(tmp_path: Path) -> None:
    with StandinServer(tmp_path).serve() as running:
        url = running.api_url
    policy = RetryPolicy(attempts=2, backoff_s=0.01)
    with (
        RegistryClient(url, "demo", "demo-secret", retry=policy) as c,
        pytest.raises(RegistryUnavailable) as info,
    ):
        c.status("hb-0032")
    assert "không kết nối được" in info.value.message


def test_drop_after_body_is_learnt_by_get_without_a_second_put(
    server: RunningServer, client: RegistryClient
) -> None:
    item = sample_package("hb-0040")
    client.status("hb-0040")
    server.standin.set_faults(Faults(drop_next=1))
    receipt = client.submit(item.ma_hoc_ba, item.xml, item.pdf)
    assert receipt.status == "confirmed"
    assert server.standin.storage.answers("PUT") == [201]  # one body, answered then dropped
    assert server.standin.storage.answers("GET", "hb-0040") == [404, 200]
    assert server.standin.storage.count_records() == 1
    assert client.status("hb-0040").ma_tra_cuu == receipt.ma_tra_cuu  # type: ignore[union-attr]


def test_timeout_is_checked_by_get_then_sent_again(server: RunningServer) -> None:
    item = sample_package("hb-0041")
    timeout = httpx.Timeout(0.3, connect=1.0)
    with RegistryClient(server.api_url, "demo", "demo-secret", retry=FAST, timeout=timeout) as c:
        c.status("hb-0041")
        server.standin.set_faults(Faults(timeout_next=1, hang_s=10))
        started = time.monotonic()
        receipt = c.submit(item.ma_hoc_ba, item.xml, item.pdf)
    assert time.monotonic() - started < 3
    assert receipt.status == "created"
    assert server.standin.storage.answers("PUT") == [201]
    assert server.standin.storage.answers("GET", "hb-0041") == [404, 404]


def test_revoke_then_again_then_unknown(server: RunningServer, client: RegistryClient) -> None:
    item = sample_package("hb-0050", ho_va_ten=STUDENT)
    receipt = client.submit(item.ma_hoc_ba, item.xml, item.pdf)
    revoked = client.revoke("hb-0050", "Sai sót nội dung, phát hành bản mới")
    assert revoked.trang_thai == "revoked" and revoked.revoked_at is not None
    with pytest.raises(RegistryRejected) as again:
        client.revoke("hb-0050", "lần hai")
    assert (again.value.code, again.value.status) == ("REVOKED", 409)
    with pytest.raises(RegistryRejected) as unknown:
        client.revoke("hb-0051", "không có")
    assert (unknown.value.code, unknown.value.status) == ("NOT_FOUND", 404)
    with pytest.raises(RegistryRejected) as resend:
        client.submit(item.ma_hoc_ba, item.xml, item.pdf)
    assert resend.value.code == "REVOKED"
    seen = client.lookup(receipt.ma_tra_cuu)
    assert seen is not None and seen.trang_thai == "revoked"
    with pytest.raises(RegistryRejected) as no_reason:
        client.revoke("hb-0050", "  ")
    assert no_reason.value.code == "REQUEST"


def test_lookup_shows_what_a_verifier_of_the_paper_copy_sees(client: RegistryClient) -> None:
    item = sample_package("hb-0060", ho_va_ten=STUDENT, truong="Trường Tiểu học Lê Lợi")
    receipt = client.submit(item.ma_hoc_ba, item.xml, item.pdf)
    typed = f"{receipt.ma_tra_cuu[:3].lower()}-{receipt.ma_tra_cuu[3:]}"
    seen = client.lookup(typed)
    assert seen is not None
    assert (seen.ho_va_ten, seen.truong, seen.nam_hoc) == (
        STUDENT,
        "Trường Tiểu học Lê Lợi",
        "2025-2026",
    )
    assert (seen.sha256, seen.trang_thai) == (receipt.sha256, "accepted")
    unused = "22222222" + next(
        ch for ch in "23456789ABCDEFGHJKMNPQRSTUVWXYZ" if is_valid_ma_tra_cuu("22222222" + ch)
    )
    assert client.lookup(unused) is None
    with pytest.raises(InvalidMaTraCuu):
        client.lookup(receipt.ma_tra_cuu[:-1] + ("2" if receipt.ma_tra_cuu[-1] != "2" else "3"))


def test_school_bound_credentials_cannot_touch_another_school(tmp_path: Path) -> None:
    item = sample_package("hb-0070", ma_truong="79000002")
    clients = {"demo": SchoolClient("demo-secret", ma_truong="79000001")}
    with (
        StandinServer(tmp_path, clients=clients).serve() as running,
        RegistryClient(running.api_url, "demo", "demo-secret", retry=FAST) as c,
        pytest.raises(RegistryRejected) as info,
    ):
        c.submit(item.ma_hoc_ba, item.xml, item.pdf)
    assert (info.value.code, info.value.status) == ("FORBIDDEN", 403)


def test_too_large_is_413(tmp_path: Path) -> None:
    item = sample_package("hb-0071")
    with (
        StandinServer(tmp_path, max_body_bytes=1024).serve() as running,
        RegistryClient(running.api_url, "demo", "demo-secret", retry=FAST) as c,
        pytest.raises(RegistryRejected) as info,
    ):
        c.submit(item.ma_hoc_ba, item.xml, item.pdf + b"\0" * 4096)
    assert (info.value.code, info.value.status) == ("TOO_LARGE", 413)


def test_records_survive_a_restart(tmp_path: Path) -> None:
    item = sample_package("hb-0080")
    with (
        StandinServer(tmp_path).serve() as running,
        RegistryClient(running.api_url, "demo", "demo-secret", retry=FAST) as c,
    ):
        receipt = c.submit(item.ma_hoc_ba, item.xml, item.pdf)
    with (
        StandinServer(tmp_path).serve() as running,
        RegistryClient(running.api_url, "demo", "demo-secret", retry=FAST) as c,
    ):
        again = c.submit(item.ma_hoc_ba, item.xml, item.pdf)
    assert again.status == "held" and again.ma_tra_cuu == receipt.ma_tra_cuu


def test_submit_many_under_faults_gives_one_record_each_and_rejects_only_the_bad(
    server: RunningServer,
) -> None:
    good = [sample_package(f"hb-1{i:03d}") for i in range(16)]
    bad = SubmitItem("hb-1999", sample_xml("hb-1999"), pdf_attaching(None))
    items = [*good[:8], bad, *good[8:]]
    server.standin.set_faults(
        Faults(rate_5xx=0.2, drop_after_body_rate=0.3, burst_429=2, retry_after_s=0, seed=7)
    )
    seen: list[tuple[str, str]] = []
    caller = threading.get_ident()

    def on_result(outcome: Outcome) -> None:
        assert threading.get_ident() == caller
        seen.append((outcome.ma_hoc_ba, "ok" if outcome.ok else type(outcome.error).__name__))

    policy = RetryPolicy(attempts=8, backoff_s=0.01, backoff_max_s=0.05)
    with RegistryClient(server.api_url, "demo", "demo-secret", retry=policy, seed=3) as c:
        outcomes = c.submit_many(items, on_result=on_result)
    assert [o.ma_hoc_ba for o in outcomes] == [i.ma_hoc_ba for i in items]
    assert sorted(seen) == sorted(
        (o.ma_hoc_ba, "ok" if o.ok else type(o.error).__name__) for o in outcomes
    )
    rejected = [o for o in outcomes if not o.ok]
    assert [o.ma_hoc_ba for o in rejected] == ["hb-1999"]
    assert isinstance(rejected[0].error, RegistryRejected)
    assert rejected[0].error.code == "MISMATCH"
    storage = server.standin.storage
    assert storage.count_records() == 16
    for item in good:
        assert storage.answers("PUT", item.ma_hoc_ba).count(201) == 1
    statuses = {o.receipt.status for o in outcomes if o.receipt is not None}
    assert "confirmed" in statuses  # some answers were dropped and learnt by GET


def test_submit_many_stops_when_the_registry_stays_down(server: RunningServer) -> None:
    items = [sample_package(f"hb-2{i:03d}") for i in range(10)]
    server.standin.set_faults(Faults(rate_5xx=1.0))
    policy = RetryPolicy(attempts=2, backoff_s=0.01, backoff_max_s=0.02)
    with RegistryClient(server.api_url, "demo", "demo-secret", retry=policy, max_in_flight=2) as c:
        outcomes = c.submit_many(items)
    assert len(outcomes) == 10
    assert all(isinstance(o.error, RegistryUnavailable) for o in outcomes)
    assert any("Chưa gửi" in o.error.message for o in outcomes if o.error is not None)
    assert server.standin.storage.count_records() == 0


def test_submit_many_with_refused_credentials_raises(server: RunningServer) -> None:
    items = [sample_package(f"hb-3{i:03d}") for i in range(4)]
    with (
        RegistryClient(server.api_url, "demo", "wrong", retry=FAST) as c,
        pytest.raises(RegistryRejected) as info,
    ):
        c.submit_many(items)
    assert info.value.code == "AUTH"


def test_submit_many_stops_sending_when_on_result_fails(server: RunningServer) -> None:
    items = [sample_package(f"hb-4{i:03d}") for i in range(20)]

    def on_result(outcome: Outcome) -> None:
        raise OSError("the store is full")

    with (
        RegistryClient(server.api_url, "demo", "demo-secret", retry=FAST, max_in_flight=1) as c,
        pytest.raises(OSError),
    ):
        c.submit_many(items, on_result=on_result)
    assert 1 <= server.standin.storage.count_records() <= 3
