"""The public lookup and verification page in a real browser (Debian's headless Chromium).

The browser is driven over the DevTools protocol (aiohttp's websocket client): it opens
the QR code's URL, reads the status in Vietnamese, puts a tampered PDF into the upload
form's file input, submits the form and reads the verdict.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import pytest
from conftest_helpers import demo_record
from corpus import _info_rewrite, _update, seal_record
from pki_fixtures import write

from hocbaso.demo.pki import DemoPki, load_demo_signer
from hocbaso.demo.registry import RunningServer, StandinServer
from hocbaso.demo.registry.verifier import registry_verifier
from hocbaso.record import parse_record_xml
from hocbaso.render import RecordRenderer
from hocbaso.signing import TrustSettings

CHROMIUM = "/usr/bin/chromium"


def _token(http: httpx.Client) -> dict[str, str]:
    answer = http.post(
        "/token",
        data={
            "grant_type": "client_credentials",
            "client_id": "demo",
            "client_secret": "demo-secret",
        },
    )
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


@pytest.fixture(scope="module")
def issued(
    sealed: tuple[bytes, bytes],
    demo_trust: TrustSettings,
    demo_pki_services: object,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[RunningServer, str, str]]:
    """The stand-in holding the sealed record: (server, lookup code, ma_hoc_ba)."""
    xml, pdf = sealed
    verifier = registry_verifier(demo_trust)
    standin = StandinServer(tmp_path_factory.mktemp("cong"), verifier=verifier)
    with standin.serve() as running, httpx.Client(base_url=running.api_url) as http:
        ma_hoc_ba = parse_record_xml(xml).madinhdanhhocba
        files = {"xml": ("a.xml", xml, "application/xml"), "pdf": ("a.pdf", pdf, "application/pdf")}
        answer = http.put(f"/hoc-ba/{ma_hoc_ba}", files=files, headers=_token(http))
        assert answer.status_code in (200, 201), answer.text
        yield running, answer.json()["ma_tra_cuu"], ma_hoc_ba


class Browser:
    """One headless Chromium page, driven over the DevTools protocol."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self._ws = ws
        self._ids = itertools.count(1)

    async def call(self, method: str, **params: Any) -> dict[str, Any]:
        msg_id = next(self._ids)
        await self._ws.send_str(json.dumps({"id": msg_id, "method": method, "params": params}))
        while True:
            msg = json.loads((await self._ws.receive(timeout=30)).data)
            if msg.get("id") == msg_id:
                assert "error" not in msg, msg
                result: dict[str, Any] = msg.get("result", {})
                return result

    async def wait_for(self, event: str) -> None:
        while True:
            msg = json.loads((await self._ws.receive(timeout=30)).data)
            if msg.get("method") == event:
                return

    async def text(self, element_id: str) -> str:
        answer = await self.call(
            "Runtime.evaluate",
            expression=f"(document.getElementById('{element_id}') || {{}}).textContent || ''",
            returnByValue=True,
        )
        value: str = answer["result"]["value"]
        return value


async def _drive(url: str, upload: Path, profile: Path) -> tuple[str, str, str]:
    proc = await asyncio.create_subprocess_exec(
        CHROMIUM,
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        f"--user-data-dir={profile}",
        "--remote-debugging-port=0",
        "about:blank",
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert proc.stderr is not None
        endpoint = None
        while endpoint is None:
            line = (await asyncio.wait_for(proc.stderr.readline(), 30)).decode()
            assert line, "chromium exited before listening"
            found = re.search(r"ws://127\.0\.0\.1:(\d+)/", line)
            endpoint = found.group(1) if found else None
        async with aiohttp.ClientSession() as http:
            async with http.get(f"http://127.0.0.1:{endpoint}/json/list") as answer:
                targets = await answer.json(content_type=None)
            page = next(t for t in targets if t["type"] == "page")
            async with http.ws_connect(page["webSocketDebuggerUrl"], max_msg_size=0) as ws:
                browser = Browser(ws)
                await browser.call("Page.enable")
                await browser.call("Page.navigate", url=url)
                await browser.wait_for("Page.loadEventFired")
                status = await browser.text("trang-thai")
                title = await browser.text("kiem-tra")
                doc = await browser.call("DOM.getDocument")
                node = await browser.call(
                    "DOM.querySelector", nodeId=doc["root"]["nodeId"], selector="input[type=file]"
                )
                await browser.call(
                    "DOM.setFileInputFiles", files=[str(upload)], nodeId=node["nodeId"]
                )
                await browser.call(
                    "Runtime.evaluate", expression="document.getElementById('kiem-tra').submit()"
                )
                await browser.wait_for("Page.loadEventFired")
                verdict = await browser.text("ket-luan")
                return status, title, verdict
    finally:
        if proc.returncode is None:
            proc.kill()
        await proc.wait()


def test_a_phone_opens_the_qr_url_and_a_tampered_pdf_is_refused(
    issued: tuple[RunningServer, str, str], sealed: tuple[bytes, bytes], tmp_path: Path
) -> None:
    assert shutil.which(CHROMIUM), "chromium is not installed: `make test` installs it"
    running, code, _ = issued
    tampered = write(tmp_path, "hocba-da-sua.pdf", _update(sealed[1], _info_rewrite))
    status, form, verdict = asyncio.run(
        _drive(f"{running.tra_cuu_url}/{code}", tampered, tmp_path / "chromium")
    )
    assert status == "Đã cấp — Có hiệu lực"
    assert "Kiểm tra" in form
    assert verdict == "KHÔNG HỢP LỆ"


def test_the_issued_pdf_is_valid_on_the_page_and_a_revoked_record_says_so(
    issued: tuple[RunningServer, str, str],
    sealed: tuple[bytes, bytes],
    demo_pki: DemoPki,
    demo_trust: TrustSettings,
    renderer: RecordRenderer,
) -> None:
    running, code, ma_hoc_ba = issued
    with httpx.Client(base_url=running.url) as http:
        files = {"tep": ("hocba.pdf", sealed[1], "application/pdf")}
        page = http.post(f"/tra-cuu/{code}/kiem-tra", files=files).text
        assert '<p id="ket-luan" class="ok">HỢP LỆ</p>' in page, page
        with httpx.Client(base_url=running.api_url) as api:
            revoked = api.post(
                f"/hoc-ba/{ma_hoc_ba}/thu-hoi", json={"ly_do": "Sai sót"}, headers=_token(api)
            )
            assert revoked.status_code == 200, revoked.text
            # The corrected version names the one it replaces; the page links to it.
            new_xml = demo_record(madinhdanhhocbathaythe=ma_hoc_ba, phienbanthongtinhocba="2")
            signers = {
                r: load_demo_signer(demo_pki, k)
                for r, k in (("gvcn", "GV01"), ("ht", "HT01"), ("condau", "con-dau"))
            }
            new_xml, new_pdf = asyncio.run(
                seal_record(new_xml, renderer.render(new_xml), signers, demo_pki, demo_trust)
            )
            new_id = parse_record_xml(new_xml).madinhdanhhocba
            both = {
                "xml": ("a.xml", new_xml, "application/xml"),
                "pdf": ("a.pdf", new_pdf, "application/pdf"),
            }
            answer = api.put(f"/hoc-ba/{new_id}", files=both, headers=_token(api))
            assert answer.status_code in (200, 201), answer.text
            new_code = answer.json()["ma_tra_cuu"]
        shown = http.get(f"/tra-cuu/{code}", headers={"accept": "text/html"}).text
        assert "Đã thu hồi, không còn giá trị" in shown
        assert f'<a id="ban-thay-the" href="/tra-cuu/{new_code}">' in shown
        page = http.post(f"/tra-cuu/{code}/kiem-tra", files=files).text
        assert "KHÔNG HỢP LỆ" in page and "Học bạ đã bị thu hồi." in page


def test_chromium_path_is_the_debian_one() -> None:
    assert Path(CHROMIUM).exists()
    assert subprocess.run([CHROMIUM, "--version"], capture_output=True, check=False).returncode == 0
