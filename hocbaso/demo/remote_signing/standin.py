"""The remote-signing stand-in: a Vietnamese provider's "send → confirm → collect" service.

A real HTTP server on loopback (stdlib ``ThreadingHTTPServer``), holding one demo
certificate per teacher (the demo PKI's), speaking the shape
``hocbaso.signing.channels.vn_async`` documents. What a person does on the phone is
done here by a rule: confirm after ``confirm_after_s`` seconds (the demo), or wait
for a hand confirmation (``confirm_after_s = None``: `hbs ky-tu-xa xac-nhan`, or the
page at ``/``), or follow a script a test gives (``script``): confirm, refuse, let
expire, answer quota-exhausted; ``fail_submits`` / ``fail_polls`` answer the next
calls with HTTP 500 (a lost answer).

It enforces at most 50 hashes per request and keeps a ledger, in
``<directory>/so-cai.json``, of every request received (its description and hashes)
and every hash it signed: the tests read it to show that nothing was asked twice.
Requests survive a restart (``<directory>/giao-dich.json``).
"""

from __future__ import annotations

import base64
import html
import json
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

MAX_HASHES = 50
DEMO_SECRET = "demo-ky-tu-xa"  # the stand-in's credential; not a secret of any real system
ACTIONS = ("xac_nhan", "tu_choi", "het_han", "het_luot")

Account = tuple[Any, list[bytes]]  # (private key, [certificate DER, issuers...])


@dataclass
class Transaction:
    ma_giao_dich: str
    ma_nguoi_dung: str
    mo_ta: str
    bam: list[str]
    tao_luc: float
    trang_thai: str = "cho_xac_nhan"
    hanh_dong: str | None = None  # scripted outcome, applied at the first status request
    chu_ky: list[str] = field(default_factory=list)


class RemoteSigningStandin:
    """The service's state and rules (the HTTP layer is ``_Handler``)."""

    def __init__(
        self,
        directory: Path | str,
        accounts: Callable[[str], Account | None],
        *,
        confirm_after_s: float | None = 0.5,
        expiry_s: float = 300.0,
        secret: str = DEMO_SECRET,
    ) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self._accounts = accounts
        self.confirm_after_s = confirm_after_s
        self.expiry_s = expiry_s
        self.secret = secret
        self.script: deque[str] = deque()
        self.fail_submits = 0
        self.fail_polls = 0
        self.lock = threading.RLock()
        self.transactions: dict[str, Transaction] = {}
        self.ledger: dict[str, list[Any]] = {"yeu_cau": [], "da_ky": []}
        self._load()

    # -- persistence ----------------------------------------------------------------
    @property
    def _tx_path(self) -> Path:
        return self.directory / "giao-dich.json"

    @property
    def ledger_path(self) -> Path:
        return self.directory / "so-cai.json"

    def _load(self) -> None:
        if self._tx_path.is_file():
            raw = json.loads(self._tx_path.read_text(encoding="utf-8"))
            self.transactions = {k: Transaction(**v) for k, v in raw.items()}
        if self.ledger_path.is_file():
            self.ledger = json.loads(self.ledger_path.read_text(encoding="utf-8"))

    @staticmethod
    def _write(path: Path, data: Any) -> None:
        # Compact: both files are rewritten after every request while a step waits for
        # its answer; indented output takes twice as long to encode (measured).
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(data, ensure_ascii=False, separators=(",", ":")), "utf-8")
        os.replace(tmp, path)

    def _save(self) -> None:
        self._write(self._tx_path, {k: asdict(v) for k, v in self.transactions.items()})
        self._write(self.ledger_path, self.ledger)

    # -- rules ----------------------------------------------------------------------
    def account(self, user: str) -> Account | None:
        return self._accounts(user)

    def submit(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        with self.lock:
            if self.fail_submits > 0:
                self.fail_submits -= 1
                return 500, {"ma_loi": "LOI_MAY_CHU", "thong_bao": "Lỗi máy chủ (giả lập)."}
            tx_id = str(body.get("ma_giao_dich", ""))
            hashes_ = list(body.get("bam") or [])
            user = str(body.get("ma_nguoi_dung", ""))
            if not tx_id or not hashes_ or self.account(user) is None:
                return 400, {
                    "ma_loi": "YEU_CAU_SAI",
                    "thong_bao": "Thiếu mã, giá trị băm hoặc tài khoản.",
                }
            if len(hashes_) > MAX_HASHES:
                return 400, {
                    "ma_loi": "QUA_NHIEU_BAM",
                    "thong_bao": f"Tối đa {MAX_HASHES} giá trị băm cho một lần xác nhận.",
                }
            held = self.transactions.get(tx_id)
            if held is not None:
                if held.bam != hashes_ or held.ma_nguoi_dung != user:
                    return 409, {"ma_loi": "TRUNG_MA", "thong_bao": "Mã giao dịch đã dùng."}
                self._advance(held)  # the same request again: where it stands now
                return 200, self._answer(held)
            action = self.script.popleft() if self.script else None
            if action == "het_luot":
                return 402, {"ma_loi": "HET_LUOT", "thong_bao": "Tài khoản đã hết lượt ký."}
            tx = Transaction(tx_id, user, str(body.get("mo_ta", "")), hashes_, time.time())
            tx.hanh_dong = action
            self.transactions[tx_id] = tx
            self.ledger["yeu_cau"].append(
                {"ma_giao_dich": tx_id, "ma_nguoi_dung": user, "mo_ta": tx.mo_ta, "bam": hashes_}
            )
            self._save()
            return 200, self._answer(tx)

    def _advance(self, tx: Transaction) -> None:
        if tx.trang_thai != "cho_xac_nhan":
            return
        if tx.hanh_dong == "xac_nhan":
            self._sign(tx)
        elif tx.hanh_dong == "tu_choi":
            tx.trang_thai = "tu_choi"
        elif tx.hanh_dong == "het_han" or time.time() - tx.tao_luc >= self.expiry_s:
            tx.trang_thai = "het_han"
        elif self.confirm_after_s is not None and time.time() - tx.tao_luc >= self.confirm_after_s:
            self._sign(tx)
        else:
            return
        self._save()

    def _sign(self, tx: Transaction) -> None:
        account = self.account(tx.ma_nguoi_dung)
        assert account is not None
        key = account[0]
        algo = Prehashed(hashes.SHA256())
        out = []
        for b64 in tx.bam:
            digest = base64.b64decode(b64)
            if isinstance(key, ec.EllipticCurvePrivateKey):
                value = key.sign(digest, ec.ECDSA(algo))
            else:
                assert isinstance(key, rsa.RSAPrivateKey)
                value = key.sign(digest, PKCS1v15(), algo)
            out.append(base64.b64encode(value).decode("ascii"))
            self.ledger["da_ky"].append(digest.hex())
        tx.chu_ky = out
        tx.trang_thai = "da_ky"

    def _answer(self, tx: Transaction) -> dict[str, Any]:
        body: dict[str, Any] = {
            "ma_giao_dich": tx.ma_giao_dich,
            "trang_thai": tx.trang_thai,
            "het_han_luc": tx.tao_luc + self.expiry_s,
        }
        if tx.trang_thai == "da_ky":
            body["chu_ky"] = tx.chu_ky
        return body

    def status(self, tx_id: str) -> tuple[int, dict[str, Any]]:
        with self.lock:
            if self.fail_polls > 0:
                self.fail_polls -= 1
                tx = self.transactions.get(tx_id)
                if tx is not None:
                    self._advance(tx)  # the service moves on; only its answer is lost
                return 500, {"ma_loi": "LOI_MAY_CHU", "thong_bao": "Lỗi máy chủ (giả lập)."}
            tx = self.transactions.get(tx_id)
            if tx is None:
                return 404, {"ma_loi": "KHONG_CO", "thong_bao": "Không có giao dịch này."}
            self._advance(tx)
            return 200, self._answer(tx)

    # -- the same service behind the CSC API v2 shape --------------------------------
    def csc(self, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """``/csc/v2/...``: one credential per user (its id is the user id)."""
        credential = str(body.get("credentialID") or body.get("userID") or "")
        if path == "credentials/list":
            found = self.account(credential) is not None
            return 200, {"credentialIDs": [credential] if found else []}
        account = self.account(credential)
        if account is None:
            return 400, {"error": "invalid_request", "error_description": "credentialID"}
        if path == "credentials/info":
            ders = account[1]
            return 200, {"cert": {"certificates": [base64.b64encode(d).decode() for d in ders]}}
        if path == "credentials/authorize":
            code, answer = self.submit(
                {
                    "ma_giao_dich": body.get("clientData"),
                    "ma_nguoi_dung": credential,
                    "mo_ta": body.get("description", ""),
                    "bam": body.get("hashes"),
                }
            )
            if code == 402:
                return 429, {"error": "quota_exceeded"}
            if code != 200:
                return code, {"error": "invalid_request", "error_description": answer}
            code, answer = self.status(str(body.get("clientData")))
            if code != 200:
                return code, {"error": "server_error"}
            errors = {
                "cho_xac_nhan": "authorization_pending",
                "tu_choi": "access_denied",
                "het_han": "expired_token",
            }
            if answer["trang_thai"] in errors:
                return 400, {"error": errors[answer["trang_thai"]]}
            return 200, {"SAD": f"sad-{body.get('clientData')}", "expiresIn": 300}
        if path == "signatures/signHash":
            sad = str(body.get("SAD", ""))
            tx = self.transactions.get(sad.removeprefix("sad-"))
            if tx is None or tx.trang_thai != "da_ky" or tx.bam != body.get("hashes"):
                return 400, {"error": "invalid_request", "error_description": "SAD"}
            return 200, {"signatures": tx.chu_ky}
        return 404, {"error": "invalid_request"}

    def decide(self, tx_id: str, confirm: bool) -> bool:
        """A person confirms (or refuses) a pending request by hand."""
        with self.lock:
            tx = self.transactions.get(tx_id)
            if tx is None or tx.trang_thai != "cho_xac_nhan":
                return False
            if confirm:
                self._sign(tx)
            else:
                tx.trang_thai = "tu_choi"
            self._save()
            return True

    def pending(self) -> list[dict[str, Any]]:
        with self.lock:
            for tx in self.transactions.values():
                self._advance(tx)
            return [
                {
                    "ma_giao_dich": t.ma_giao_dich,
                    "ma_nguoi_dung": t.ma_nguoi_dung,
                    "mo_ta": t.mo_ta,
                    "so_bam": len(t.bam),
                }
                for t in self.transactions.values()
                if t.trang_thai == "cho_xac_nhan"
            ]

    def set_script(self, body: dict[str, Any]) -> None:
        with self.lock:
            self.script = deque(a for a in body.get("hanh_dong", []) if a in ACTIONS)
            self.fail_submits = int(body.get("loi_gui", 0))
            self.fail_polls = int(body.get("loi_hoi", 0))
            if "xac_nhan_sau_giay" in body:
                value = body["xac_nhan_sau_giay"]
                self.confirm_after_s = None if value is None else float(value)
            if "het_han_sau_giay" in body:
                self.expiry_s = float(body["het_han_sau_giay"])


def _page(pending: list[dict[str, Any]]) -> str:
    rows = "".join(
        f"<tr><td>{html.escape(p['mo_ta'])}</td><td>{p['so_bam']}</td><td>"
        f"<form method='post' action='/_admin/giao-dich/{p['ma_giao_dich']}/xac-nhan'>"
        "<button>Xác nhận</button></form>"
        f"<form method='post' action='/_admin/giao-dich/{p['ma_giao_dich']}/tu-choi'>"
        "<button>Từ chối</button></form></td></tr>"
        for p in pending
    )
    return (
        "<!doctype html><meta charset='utf-8'><title>Ký số từ xa (giả lập)</title>"
        "<h1>Yêu cầu ký đang chờ xác nhận</h1><p>Dịch vụ giả lập, không có giá trị pháp lý.</p>"
        f"<table border=1><tr><th>Mô tả</th><th>Số giá trị băm</th><th></th></tr>{rows}</table>"
    )


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # no access log
        return

    def _reply(self, code: int, body: dict[str, Any] | str) -> None:
        data = (body if isinstance(body, str) else json.dumps(body, ensure_ascii=False)).encode()
        self.send_response(code)
        ctype = "text/html" if isinstance(body, str) else "application/json"
        self.send_header("Content-Type", f"{ctype}; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _authorised(self) -> bool:
        if self.headers.get("Authorization") == f"Bearer {self.server.standin.secret}":
            return True
        self._reply(401, {"ma_loi": "KHONG_XAC_THUC", "thong_bao": "Sai thông tin ứng dụng."})
        return False

    def _body(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if self.headers.get("Content-Type", "").startswith("application/json"):
            return json.loads(raw or b"{}")
        return parse_qs(raw.decode())

    def do_GET(self) -> None:
        standin = self.server.standin
        path = self.path.split("?")[0]
        if path == "/":
            self._reply(200, _page(standin.pending()))
        elif path == "/_admin/giao-dich":
            self._reply(200, {"cho_xac_nhan": standin.pending()})
        elif path == "/_admin/thu-muc":  # whose stand-in this is (a copied workspace differs)
            self._reply(200, {"thu_muc": str(standin.directory.resolve())})
        elif path == "/_admin/so-cai":
            with standin.lock:
                self._reply(200, standin.ledger)
        elif path.startswith("/v1/tai-khoan/") and path.endswith("/chung-thu"):
            if not self._authorised():
                return
            account = standin.account(path.split("/")[3])
            if account is None:
                self._reply(
                    404, {"ma_loi": "KHONG_CO_TAI_KHOAN", "thong_bao": "Không có tài khoản."}
                )
                return
            self._reply(200, {"chung_thu": [base64.b64encode(d).decode() for d in account[1]]})
        elif path.startswith("/v1/giao-dich/"):
            if self._authorised():
                self._reply(*standin.status(path.rsplit("/", 1)[1]))
        else:
            self._reply(404, {"ma_loi": "KHONG_CO", "thong_bao": "Không có địa chỉ này."})

    def do_POST(self) -> None:
        standin = self.server.standin
        path = self.path.split("?")[0]
        if path == "/v1/giao-dich":
            if self._authorised():
                self._reply(*standin.submit(self._body()))
        elif path.startswith("/_admin/giao-dich/"):
            _, _, _, tx_id, verb = path.split("/")
            done = standin.decide(tx_id, verb == "xac-nhan")
            if "text/html" in self.headers.get("Accept", ""):
                self._reply(200, _page(standin.pending()))
            else:
                self._reply(200 if done else 404, {"da_xu_ly": done})
        elif path.startswith("/csc/v2/"):
            if self._authorised():
                self._reply(*standin.csc(path.removeprefix("/csc/v2/"), self._body()))
        elif path == "/_admin/kich-ban":
            standin.set_script(self._body())
            self._reply(200, {"ok": True})
        else:
            self._reply(404, {"ma_loi": "KHONG_CO", "thong_bao": "Không có địa chỉ này."})


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], standin: RemoteSigningStandin) -> None:
        self.standin = standin
        super().__init__(address, _Handler)


class RunningStandin:
    """The stand-in serving in a background thread; a context manager that stops it."""

    def __init__(self, standin: RemoteSigningStandin, host: str = "127.0.0.1", port: int = 0):
        self.standin = standin
        self._server = _Server((host, port), standin)
        self.host = str(self._server.server_address[0])
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="hbs-ky-tu-xa-gia-lap", daemon=True
        )
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> RunningStandin:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
