"""Remote signing over HTTP against the stand-in: one confirmation per batch, nothing asked twice.

A tiny school is initialized, configured (demo PKI, SoftHSM2 seal token) and one class
locked once; each test signs a fresh copy as its homeroom teacher through the
remote-signing stand-in on a free loopback port, told over its admin API what the
"person" does: confirm, refuse, let expire, run out of quota, answer 5xx, lose a poll
answer. Each ends with every record signed exactly once (the stand-in's own ledger)
and the person asked again only for what had no signature. To see several requests
in a class of 8, the channel's batch is cut to 6 hashes (3 records) per request.
"""

from __future__ import annotations

import base64
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

import hocbaso.demo.remote_signing as remote
from hocbaso.approval import ApprovalNeeded
from hocbaso.configure import configure
from hocbaso.demo import bundled
from hocbaso.demo.credentials import DemoCredentials
from hocbaso.demo.remote_signing import standin_url
from hocbaso.demo.sample import generate_school, write_xlsx
from hocbaso.initialize import initialize
from hocbaso.issue import SignOutcome, confirmations_needed, sign_class
from hocbaso.lock import lock_class
from hocbaso.resources import Resources, open_resources
from hocbaso.signing.channels import RemoteChannel
from hocbaso.store import current_records
from hocbaso.store.journal import signing_progress, signing_requests

CLASS = "1A"
PER_REQUEST = 6  # hashes: three records of eight per request -> 3 requests


@pytest.fixture(scope="module")
def locked(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny school configured once, its class 1A locked (eight records)."""
    root = tmp_path_factory.mktemp("truong-tu-xa")
    shutil.copyfile(str(bundled.school_toml_template()), root / "school.toml")
    source = write_xlsx(generate_school(n_students=40, seed=7), root / "nguon.xlsx")
    initialize(open_resources(root).ws, source, expectations=False)
    res = open_resources(root)
    configure(res)
    lock_class(res, CLASS)
    res.close()
    return root


@pytest.fixture(scope="module", autouse=True)
def pki_running(locked: Path) -> Iterator[None]:
    """The demo PKI's services once for the module: every copy's are the same (reused)."""
    from hocbaso.demo.pki_services import DemoPkiServices

    res = open_resources(locked)
    assert isinstance(res.credentials, DemoCredentials)
    with DemoPkiServices(res.credentials.pki, reuse=True):
        yield


def _copy(
    locked: Path,
    tmp_path: Path,
    *,
    pre_approved: bool = True,
    csc: bool = False,
    gvcn: str = "tu_xa",
) -> Path:
    root = tmp_path / "ws"
    shutil.copytree(locked, root)
    toml = root / "school.toml"
    text = toml.read_text()
    # Quick "people" and polling: the tests wait for answers, not for the clock.
    text = text.replace("hoi_trang_thai_giay = 0.5", "hoi_trang_thai_giay = 0.1")
    text = text.replace("xac_nhan_sau_giay = 0.5", "xac_nhan_sau_giay = 0.1")
    if not pre_approved:
        text = text.replace("duyet_truoc = true", "duyet_truoc = false")
    text = text.replace('gvcn = "tu_xa"', f'gvcn = "{gvcn}"')
    if csc:
        text = text.replace("[chung_thu.demo]\n", '[chung_thu.demo]\ngiao_thuc_tu_xa = "csc"\n')
    toml.write_text(text)
    return root


@pytest.fixture
def res(locked: Path, tmp_path: Path) -> Iterator[Resources]:
    resources = open_resources(_copy(locked, tmp_path))
    with resources.credentials.services():
        _, channel = resources.channel_for("gvcn", CLASS)
        assert isinstance(channel, RemoteChannel)
        channel.port.max_digests = PER_REQUEST
        yield resources
    resources.close()


def _script(res: Resources, **body: Any) -> None:
    response = httpx.post(f"{standin_url(res.ws)}/_admin/kich-ban", json=body, timeout=5)
    assert response.status_code == 200


def _ledger(res: Resources) -> dict[str, Any]:
    return dict(httpx.get(f"{standin_url(res.ws)}/_admin/so-cai", timeout=5).json())


def _sign(res: Resources) -> SignOutcome:
    outcome = sign_class(res, CLASS, "gvcn", wait_s=8)
    assert isinstance(outcome, SignOutcome)
    return outcome


def _states(res: Resources) -> set[str]:
    return {r.trang_thai.value for r in current_records(res.store, ma_lop=CLASS)}


def _hashes(request: dict[str, Any]) -> list[str]:
    return [base64.b64decode(h).hex() for h in request["bam"]]


def _assert_signed_once(res: Resources) -> dict[str, Any]:
    """Every record signed, each hash signed exactly once, nothing signed that was not ours."""
    ledger = _ledger(res)
    signed = Counter(ledger["da_ky"])
    assert all(n == 1 for n in signed.values()), "a hash was signed twice"
    assert len(signed) == 2 * 8
    assert _states(res) == {"signed_gvcn"}
    progress = signing_progress(res.store).filter(vai_tro="gvcn", ma_lop=CLASS)
    assert progress["con_lai"].to_list() == [0]
    return ledger


def test_a_class_goes_as_the_fewest_requests_each_named_without_pupils(res: Resources) -> None:
    outcome = _sign(res)
    assert outcome.trang_thai == "da_ky" and outcome.processed == 8
    ledger = _assert_signed_once(res)
    assert len(ledger["yeu_cau"]) == confirmations_needed(8, PER_REQUEST) == 3
    names = {r.ho_ten for r in _pupils(res)}
    for request in ledger["yeu_cau"]:
        assert len(request["bam"]) <= PER_REQUEST
        assert "lớp 1A" in request["mo_ta"] and "Giáo viên chủ nhiệm" in request["mo_ta"]
        assert res.config.truong.ten_truong in request["mo_ta"]
        assert not any(name in request["mo_ta"] for name in names)
    rows = signing_requests(res.store).filter(vai_tro="gvcn")
    assert set(rows["kenh"]) == {"tu_xa"} and set(rows["trang_thai"]) == {"da_ky"}
    assert sorted(rows["so_chu_ky"]) == [4, 6, 6]


def _pupils(res: Resources) -> list[Any]:
    with res.store.connect() as con:
        rows = con.execute("SELECT ho_ten FROM hoc_sinh WHERE ma_lop = $1", [CLASS]).fetchall()
    return [type("P", (), {"ho_ten": r[0]}) for r in rows]


@pytest.mark.parametrize("answer", ["tu_choi", "het_han"])
def test_refused_or_expired_request_is_asked_again_only_for_the_unsigned(
    res: Resources, answer: str
) -> None:
    _script(res, hanh_dong=["xac_nhan", answer, "xac_nhan"])
    first = _sign(res)
    assert first.trang_thai == answer and first.con_lai == 3
    assert _states(res) == {"locked"}  # the class moves only when every record is signed
    assert any("Chạy lại bước ký" in note for note in first.thong_bao)
    second = _sign(res)
    assert second.trang_thai == "da_ky" and second.processed == 3
    ledger = _assert_signed_once(res)
    requests = ledger["yeu_cau"]
    assert len(requests) == 4
    assert _hashes(requests[3]) == _hashes(requests[1])  # exactly the part not signed
    states = Counter(signing_requests(res.store)["trang_thai"])
    assert states == {"da_ky": 3, answer: 1}


def test_quota_exhausted_is_a_failure_with_what_to_do_and_a_rerun_asks_once(
    res: Resources,
) -> None:
    _script(res, hanh_dong=["het_luot"])
    first = _sign(res)
    assert first.trang_thai == "loi" and first.con_lai == 3
    assert any("hết lượt ký" in note for note in first.thong_bao)
    assert _sign(res).trang_thai == "da_ky"
    ledger = _assert_signed_once(res)
    assert len(ledger["yeu_cau"]) == 3  # the refused send was never a request


def test_server_errors_are_retried_and_a_send_that_never_arrived_is_sent_once(
    res: Resources,
) -> None:
    _script(res, loi_gui=2)  # two 500s: the adapter's retries get through
    assert _sign(res).trang_thai == "da_ky"
    ledger = _assert_signed_once(res)
    assert len(ledger["yeu_cau"]) == 3


def test_a_service_down_for_the_whole_send_leaves_the_request_for_the_rerun(
    locked: Path, tmp_path: Path
) -> None:
    res = open_resources(_copy(locked, tmp_path))
    with res.credentials.services():
        _script(res, loi_gui=50)
        from hocbaso.signing.channels.vn_async import RemoteUnavailable

        with pytest.raises(RemoteUnavailable):
            sign_class(res, CLASS, "gvcn", wait_s=2)
        waiting = signing_requests(res.store)
        assert list(waiting["trang_thai"]) == ["cho_xac_nhan"]  # kept before it was sent
        _script(res, loi_gui=0)
        assert sign_class(res, CLASS, "gvcn", wait_s=8).trang_thai == "da_ky"  # type: ignore[union-attr]
        ledger = _assert_signed_once(res)
        assert len(ledger["yeu_cau"]) == 1  # the request that never arrived, sent once
        assert list(signing_requests(res.store)["ma_giao_dich"]) == [
            r["ma_giao_dich"] for r in ledger["yeu_cau"]
        ]
    res.close()


def test_lost_poll_answers_are_asked_again(res: Resources) -> None:
    _script(res, loi_hoi=4, xac_nhan_sau_giay=0.3)  # the first status answer is lost
    assert _sign(res).trang_thai == "da_ky"
    ledger = _assert_signed_once(res)
    assert len(ledger["yeu_cau"]) == 3


def test_waiting_past_the_run_bound_is_collected_by_the_next_run(res: Resources) -> None:
    _script(res, xac_nhan_sau_giay=None)  # nobody confirms during the first run
    first = sign_class(res, CLASS, "gvcn", wait_s=0.5)
    assert isinstance(first, SignOutcome) and first.trang_thai == "cho_xac_nhan"
    pending = httpx.get(f"{standin_url(res.ws)}/_admin/giao-dich", timeout=5).json()
    for p in pending["cho_xac_nhan"]:  # the person confirms by hand
        url = f"{standin_url(res.ws)}/_admin/giao-dich/{p['ma_giao_dich']}/xac-nhan"
        assert httpx.post(url, timeout=5).status_code == 200
    second = _sign(res)
    assert second.trang_thai == "da_ky" and second.so_yeu_cau == 0
    ledger = _assert_signed_once(res)
    assert len(ledger["yeu_cau"]) == 3  # collected, not asked again


def test_the_principal_must_approve_before_signing(locked: Path, tmp_path: Path) -> None:
    res = open_resources(_copy(locked, tmp_path, pre_approved=False))
    with res.credentials.services():
        sign_class(res, CLASS, "gvcn", wait_s=8)
        with pytest.raises(ApprovalNeeded, match="chưa duyệt"):
            sign_class(res, CLASS, "ht")
        from hocbaso.approval import approve

        approve(res, CLASS, "dong_lenh")
        assert sign_class(res, CLASS, "ht").processed == 8
        assert sign_class(res, CLASS, "condau").processed == 8
    rows = signing_requests(res.store)
    kinds = dict(zip(rows["vai_tro"], rows["kenh"], strict=True))
    assert kinds == {"gvcn": "tu_xa", "ht": "pkcs12", "condau": "pkcs11"}
    assert _states(res) == {"sealed"}
    res.close()


def test_csc_v2_adapter_authorizes_once_per_request_and_signs_the_batch(
    locked: Path, tmp_path: Path
) -> None:
    res = open_resources(_copy(locked, tmp_path, csc=True))
    with res.credentials.services():
        _, channel = res.channel_for("gvcn", CLASS)
        from hocbaso.signing.channels.csc import CscPort

        assert isinstance(channel, RemoteChannel) and isinstance(channel.port, CscPort)
        channel.port.max_digests = PER_REQUEST
        _script(res, hanh_dong=["xac_nhan", "tu_choi"], xac_nhan_sau_giay=0.3)
        first = _sign(res)
        assert first.trang_thai == "tu_choi" and first.con_lai == 3
        assert _sign(res).trang_thai == "da_ky"
        ledger = _assert_signed_once(res)
        assert [len(r["bam"]) for r in ledger["yeu_cau"]] == [6, 6, 4, 6]
    res.close()


def test_a_key_file_signs_each_record_once_across_a_crash(
    locked: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hocbaso.signing.channels import LocalChannel

    res = open_resources(_copy(locked, tmp_path, gvcn="pkcs12"))
    with res.credentials.services():
        _, channel = res.channel_for("gvcn", CLASS)
        assert isinstance(channel, LocalChannel)
        calls: list[bytes] = []
        real = channel.sign_digest

        def flaky(digest: bytes) -> bytes:
            calls.append(digest)
            if len(calls) == 7:  # the key "dies" on the fourth record's XML
                raise KeyboardInterrupt
            return real(digest)

        monkeypatch.setattr(channel, "sign_digest", flaky)
        with pytest.raises(KeyboardInterrupt):
            sign_class(res, CLASS, "gvcn")
        assert _states(res) == {"locked"}
        outcome = sign_class(res, CLASS, "gvcn")
        assert outcome.processed == 5 and outcome.skipped == 3
        assert len(calls) == 7 + 2 * 5  # three records kept, never signed again
    rows = signing_requests(res.store)
    assert sorted(zip(rows["trang_thai"], rows["so_chu_ky"], strict=True)) == [
        ("da_ky", 10),
        ("loi", 6),
    ]
    assert _states(res) == {"signed_gvcn"}
    res.close()


SIGNING_RUN = """
import sys
from hocbaso.issue import sign_class
from hocbaso.resources import open_resources
res = open_resources(sys.argv[1])
with res.credentials.services():
    sign_class(res, "1A", "gvcn", wait_s=30)
"""


def test_sigkill_at_random_moments_never_submits_a_hash_twice(locked: Path, tmp_path: Path) -> None:
    """Kill signing runs while requests are pending and after confirmation; the stand-in
    (run here, outliving the runs) shows every hash submitted and signed once."""
    from hocbaso.demo.remote_signing import serve

    root = _copy(locked, tmp_path)
    res = open_resources(root)
    assert isinstance(res.credentials, DemoCredentials)
    rng = random.Random(8)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    killed_pending = 0
    with serve(res.ws, res.credentials.pki, 2.0) as running:
        assert running is not None
        for attempt in range(6):
            if _states(res) == {"signed_gvcn"}:
                break
            sent_before = len(running.standin.ledger["yeu_cau"])
            run = subprocess.Popen([sys.executable, "-c", SIGNING_RUN, str(root)], env=env)
            if attempt == 0:
                # The first run dies while its request is out: wait (however loaded the
                # machine) until the stand-in has it, then kill within its 2 s confirmation.
                deadline = time.monotonic() + 90
                while (
                    len(running.standin.ledger["yeu_cau"]) == sent_before
                    and run.poll() is None
                    and time.monotonic() < deadline
                ):
                    time.sleep(0.05)
                time.sleep(rng.uniform(0.0, 1.0))
            else:
                time.sleep(rng.uniform(1.0, 4.0))
            run.send_signal(signal.SIGKILL)
            run.wait()
            states = set(signing_requests(res.store)["trang_thai"])
            killed_pending += "cho_xac_nhan" in states
        final = subprocess.run(
            [sys.executable, "-c", SIGNING_RUN, str(root)], env=env, timeout=120, check=False
        )
        assert final.returncode == 0
        ledger = running.standin.ledger
        submitted = Counter(h for r in ledger["yeu_cau"] for h in r["bam"])
        assert submitted and all(n == 1 for n in submitted.values()), "a hash was sent twice"
        assert len(set(ledger["da_ky"])) == len(ledger["da_ky"]) == 16
    assert killed_pending >= 1  # at least one run died with requests out
    assert _states(res) == {"signed_gvcn"}
    res.close()


def test_the_standins_accounts_open_ahead_once_each(
    locked: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Preloaded accounts are the teachers' own keys, each PKCS#12 file opened once even
    when a request asks for an account while the preload is opening it."""
    res = open_resources(locked)
    assert isinstance(res.credentials, DemoCredentials)
    pki = res.credentials.pki
    opened: Counter[str] = Counter()
    real_open = remote._open_account

    def counting_open(pki_: Any, user: str) -> Any:
        opened[user] += 1
        return real_open(pki_, user)

    monkeypatch.setattr(remote, "_open_account", counting_open)
    users = list(pki.identities)
    account = remote.demo_accounts(pki, preload=True)
    askers = [threading.Thread(target=account, args=(u,)) for u in reversed(users)]
    for t in askers:
        t.start()
    for t in askers:
        t.join(timeout=60)
    deadline = time.monotonic() + 60
    while len(opened) < len(users) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert opened == Counter(dict.fromkeys(users, 1))
    assert account("khong-co") is None
    teacher = users[-1]
    loaded = account(teacher)
    assert loaded is not None
    cert = x509.load_pem_x509_certificate(pki.identities[teacher].certificate.read_bytes())
    assert loaded[1][0] == cert.public_bytes(serialization.Encoding.DER)
    # The account's key is the one the teacher's certificate names.
    assert loaded[0].public_key().public_numbers() == cert.public_key().public_numbers()  # type: ignore[union-attr]
    res.close()
