"""The stand-in registry on the wire, read with plain httpx: what the spec promises."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from hocbaso.demo.registry import (
    Faults,
    RunningServer,
    StandinServer,
    pdf_attaching,
    sample_package,
    sample_xml,
)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RunningServer]:
    with StandinServer(tmp_path / "registry").serve() as running:
        yield running


@pytest.fixture
def http(server: RunningServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.api_url) as c:
        yield c


def _token(http: httpx.Client, secret: str = "demo-secret") -> dict[str, str]:
    response = http.post(
        "/token",
        data={"grant_type": "client_credentials", "client_id": "demo", "client_secret": secret},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] > 0
    return {"Authorization": f"Bearer {body['access_token']}"}


def _files(xml: bytes, pdf: bytes) -> dict[str, tuple[str, bytes, str]]:
    return {"xml": ("a.xml", xml, "application/xml"), "pdf": ("a.pdf", pdf, "application/pdf")}


def _refusal(response: httpx.Response, status: int, code: str) -> dict[str, object]:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["code"] == code
    assert isinstance(body["message"], str) and body["message"]
    return dict(body)


def test_token_with_wrong_secret_is_401(http: httpx.Client) -> None:
    response = http.post(
        "/token",
        data={"grant_type": "client_credentials", "client_id": "demo", "client_secret": "x"},
    )
    _refusal(response, 401, "AUTH")


def test_put_without_token_is_401_with_bearer_challenge(http: httpx.Client) -> None:
    item = sample_package("hb-1")
    response = http.put("/hoc-ba/hb-1", files=_files(item.xml, item.pdf))
    _refusal(response, 401, "AUTH")
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_token_expires(tmp_path: Path) -> None:
    with (
        StandinServer(tmp_path, token_ttl_s=0.2).serve() as running,
        httpx.Client(base_url=running.api_url) as http,
    ):
        auth = _token(http)
        assert http.get("/hoc-ba/hb-1", headers=auth).status_code == 404
        time.sleep(0.3)
        _refusal(http.get("/hoc-ba/hb-1", headers=auth), 401, "AUTH")


def test_put_answers_201_then_200_with_the_same_body(http: httpx.Client) -> None:
    auth = _token(http)
    item = sample_package("hb-2")
    first = http.put("/hoc-ba/hb-2", files=_files(item.xml, item.pdf), headers=auth)
    again = http.put("/hoc-ba/hb-2", files=_files(item.xml, item.pdf), headers=auth)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json() == again.json()
    assert set(first.json()) >= {"ma_tra_cuu", "received_at", "sha256"}
    status = http.get("/hoc-ba/hb-2", headers=auth).json()
    assert status["trang_thai"] == "accepted"
    assert status["ma_tra_cuu"] == first.json()["ma_tra_cuu"]


def test_missing_part_is_400(http: httpx.Client) -> None:
    auth = _token(http)
    xml = sample_xml("hb-3")
    response = http.put(
        "/hoc-ba/hb-3", files={"xml": ("a.xml", xml, "application/xml")}, headers=auth
    )
    _refusal(response, 400, "REQUEST")


def test_422_lists_every_refusal(tmp_path: Path) -> None:
    from hocbaso.registry.results import Refusal

    def verifier(xml: bytes, pdf: bytes) -> list[Refusal]:
        return [Refusal("XSD", "Thiếu trường bắt buộc."), Refusal("TIMESTAMP", "Thiếu dấu.")]

    item = sample_package("hb-4")
    with (
        StandinServer(tmp_path, verifier=verifier).serve() as running,
        httpx.Client(base_url=running.api_url) as http,
    ):
        response = http.put("/hoc-ba/hb-4", files=_files(item.xml, item.pdf), headers=_token(http))
    body = _refusal(response, 422, "XSD")
    assert [d["code"] for d in body["chi_tiet"]] == ["XSD", "TIMESTAMP"]  # type: ignore[attr-defined]


def test_unknown_path_and_method_answer_json(http: httpx.Client) -> None:
    _refusal(http.get("/khong-co"), 404, "NOT_FOUND")
    _refusal(http.delete("/hoc-ba/hb-5"), 405, "METHOD_NOT_ALLOWED")


def test_concurrent_different_puts_give_one_201_and_one_409(http: httpx.Client) -> None:
    auth = _token(http)
    a = sample_package("hb-6", nam_hoc="2025-2026")
    b = sample_package("hb-6", nam_hoc="2024-2025")
    barrier = threading.Barrier(2)
    statuses: list[int] = []

    def put(xml: bytes, pdf: bytes) -> None:
        barrier.wait()
        statuses.append(http.put("/hoc-ba/hb-6", files=_files(xml, pdf), headers=auth).status_code)

    threads = [threading.Thread(target=put, args=(i.xml, i.pdf)) for i in (a, b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses) == [201, 409]


def test_lookup_is_public_json_and_html_for_a_phone(
    http: httpx.Client, server: RunningServer
) -> None:
    item = sample_package("hb-7", ho_va_ten="Lê <Văn> & Tám")
    put = http.put("/hoc-ba/hb-7", files=_files(item.xml, item.pdf), headers=_token(http))
    code = put.json()["ma_tra_cuu"]
    body = http.get(f"/tra-cuu/{code}").json()
    assert (body["ho_va_ten"], body["trang_thai"]) == ("Lê <Văn> & Tám", "accepted")
    page = httpx.get(f"{server.tra_cuu_url}/{code}", headers={"Accept": "text/html"})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "Lê &lt;Văn&gt; &amp; Tám" in page.text and "Có hiệu lực" in page.text
    typo = code[:-1] + ("2" if code[-1] != "2" else "3")
    missing = httpx.get(f"{server.tra_cuu_url}/{typo}", headers={"Accept": "text/html"})
    assert missing.status_code == 404 and "ký tự kiểm tra" in missing.text
    _refusal(http.get(f"/tra-cuu/{typo}"), 404, "INVALID_CODE")


def test_revoke_needs_a_reason(http: httpx.Client) -> None:
    auth = _token(http)
    item = sample_package("hb-8")
    http.put("/hoc-ba/hb-8", files=_files(item.xml, item.pdf), headers=auth)
    _refusal(http.post("/hoc-ba/hb-8/thu-hoi", json={}, headers=auth), 400, "REQUEST")
    done = http.post("/hoc-ba/hb-8/thu-hoi", json={"ly_do": "Sai sót"}, headers=auth)
    assert done.status_code == 200 and done.json()["trang_thai"] == "revoked"
    again = http.post("/hoc-ba/hb-8/thu-hoi", json={"ly_do": "Sai sót"}, headers=auth)
    _refusal(again, 409, "REVOKED")


def test_429_carries_retry_after(http: httpx.Client, server: RunningServer) -> None:
    auth = _token(http)
    server.standin.set_faults(Faults(burst_429=1, retry_after_s=7))
    response = http.get("/hoc-ba/hb-9", headers=auth)
    _refusal(response, 429, "TOO_MANY_REQUESTS")
    assert response.headers["retry-after"] == "7"
    assert http.get("/hoc-ba/hb-9", headers=auth).status_code == 404


def test_slow_answers_wait_first(http: httpx.Client, server: RunningServer) -> None:
    server.standin.set_faults(Faults(slow_ms=300))
    started = time.monotonic()
    _refusal(http.get("/tra-cuu/222222222"), 404, "NOT_FOUND")
    assert time.monotonic() - started >= 0.3


def test_faults_are_reproducible_from_their_seed(tmp_path: Path) -> None:
    def run(directory: Path) -> list[int]:
        faults = Faults(rate_5xx=0.5, seed=42)
        with (
            StandinServer(directory, faults=faults).serve() as running,
            httpx.Client(base_url=running.api_url) as http,
        ):
            return [http.get("/tra-cuu/222222222").status_code for _ in range(20)]

    first, second = run(tmp_path / "a"), run(tmp_path / "b")
    assert first == second
    assert set(first) == {503, 404}


def test_admin_endpoint_sets_and_shows_faults(server: RunningServer) -> None:
    with httpx.Client(base_url=server.url) as admin:
        shown = admin.post("/_admin/faults", json={"burst_5xx": 2, "slow_ms": 5}).json()
        assert (shown["burst_5xx"], shown["slow_ms"]) == (2, 5)
        statuses = [admin.get("/api/v1/tra-cuu/222222222").status_code for _ in range(3)]
        assert statuses == [503, 503, 404]
        assert admin.get("/_admin/faults").json()["burst_5xx"] == 0
        _refusal(admin.post("/_admin/faults", json={"rate_5xx": 2}), 400, "REQUEST")


def test_the_pdf_must_carry_exactly_the_submitted_xml(http: httpx.Client) -> None:
    """The sealed PDF attaches the sealed XML: the attachment must be the submitted XML
    byte for byte. The same data with other bytes around it (a line break after the
    declaration, as an older signed copy would differ) is refused, other data too."""
    auth = _token(http)
    xml = sample_xml("hb-10")
    reformatted = xml.replace(b"?>", b"?>\n", 1)
    assert reformatted != xml
    same_data = http.put(
        "/hoc-ba/hb-10", files=_files(xml, pdf_attaching(reformatted)), headers=auth
    )
    _refusal(same_data, 422, "MISMATCH")
    other = sample_xml("hb-11", ho_va_ten="Người Khác")
    response = http.put(
        "/hoc-ba/hb-11", files=_files(sample_xml("hb-11"), pdf_attaching(other)), headers=auth
    )
    _refusal(response, 422, "MISMATCH")
    exact = http.put("/hoc-ba/hb-10", files=_files(xml, pdf_attaching(xml)), headers=auth)
    assert exact.status_code == 201, exact.text


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_command_line_serves_until_interrupted(tmp_path: Path) -> None:
    port = _free_port()
    env = {**os.environ, "HBS_REGISTRY_SECRET": "s3cret"}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "hocbaso.demo.registry",
            "--dir",
            str(tmp_path),
            "--port",
            str(port),
            "--client-id",
            "truong",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                response = httpx.post(
                    f"http://127.0.0.1:{port}/api/v1/token",
                    data={"client_id": "truong", "client_secret": "s3cret"},
                )
                break
            except httpx.ConnectError:
                assert process.poll() is None and time.monotonic() < deadline
                time.sleep(0.1)
        assert response.status_code == 200
    finally:
        process.send_signal(signal.SIGINT)
        _, errors = process.communicate(timeout=10)
    assert process.returncode == 0, errors.decode()
    assert (tmp_path / "registry.sqlite").exists()
