"""The Cloud Signature Consortium API v2 (remote signing by hash, batch signHash).

The shape Viettel MySign and other CSC services follow::

    POST {base}/csc/v2/credentials/list       {"userID"}            -> {"credentialIDs": [...]}
    POST {base}/csc/v2/credentials/info       {"credentialID", "certificates": "chain"}
                                              -> {"cert": {"certificates": [base64 DER, ...]}}
    POST {base}/csc/v2/credentials/authorize  {"credentialID", "numSignatures", "hashes",
                                               "hashAlgorithmOID", "description", "clientData"}
                                              -> {"SAD"} once the person consented
    POST {base}/csc/v2/signatures/signHash    {"credentialID", "SAD", "hashes",
                                               "hashAlgorithmOID", "signAlgo"}
                                              -> {"signatures": [base64, ...]}

One ``credentials/authorize`` with all the request's hashes is one consent of the
person (SCAL2: the SAD is bound to exactly those hashes); ``signatures/signHash`` then
signs them all at once. How consent arrives is the provider's (an app notification,
an OTP); while it has not, this adapter expects ``authorize`` to answer HTTP 400
``{"error": "authorization_pending"}`` (the OAuth device-flow convention the stand-in
follows), ``access_denied`` for a refusal, ``expired_token`` for an expiry and HTTP
429 for an exhausted quota. Our request id goes in ``clientData``, so asking again for
the same request is the same authorization, not a new one.
"""

from __future__ import annotations

import base64
from typing import Any

import httpx

from hocbaso.errors import SigningError
from hocbaso.signing.channels import RequestStatus, SignRequest
from hocbaso.signing.channels.http import call, quota_exhausted, service_client

SHA256_OID = "2.16.840.1.101.3.4.2.1"
RSA_OID = "1.2.840.113549.1.1.1"
MAX_DIGESTS = 50


class CscPort:
    """One person's credential at a CSC v2 service."""

    def __init__(
        self,
        base_url: str,
        user_id: str,
        *,
        client_id: str,
        secret: str,
        credential_id: str | None = None,
        provider: str = "csc",
        timeout_s: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.max_digests = MAX_DIGESTS
        self._user = user_id
        self._credential = credential_id
        self._provider = provider
        self._http = service_client(
            base_url.rstrip("/") + "/csc/v2",
            client_id=client_id,
            secret=secret,
            timeout_s=timeout_s,
            transport=transport,
        )

    def _post(self, path: str, body: dict[str, Any]) -> httpx.Response:
        return call(self._http, self._provider, "POST", path, json=body)

    def _credential_id(self) -> str:
        if self._credential is None:
            response = self._post("/credentials/list", {"userID": self._user})
            ids = response.json().get("credentialIDs") or [] if response.status_code == 200 else []
            if not ids:
                raise SigningError(
                    f"Tài khoản ký số từ xa '{self._user}' ({self._provider}) không có chứng thư.",
                    hint="Kiểm tra ma_nguoi_dung, hoặc khai báo ma_chung_thu trong school.toml.",
                )
            self._credential = str(ids[0])
        return self._credential

    def certificates(self) -> list[bytes]:
        response = self._post(
            "/credentials/info", {"credentialID": self._credential_id(), "certificates": "chain"}
        )
        if response.status_code != 200:
            raise SigningError(
                f"Không đọc được chứng thư của tài khoản '{self._user}' ({self._provider}).",
                hint="Kiểm tra ma_chung_thu và thông tin đăng nhập trong school.toml.",
            )
        return [base64.b64decode(c) for c in response.json()["cert"]["certificates"]]

    def _hashes(self, request: SignRequest) -> list[str]:
        return [base64.b64encode(d).decode("ascii") for d in request.digests]

    def submit(self, request: SignRequest) -> RequestStatus:
        response = self._post(
            "/credentials/authorize",
            {
                "credentialID": self._credential_id(),
                "numSignatures": len(request.digests),
                "hashes": self._hashes(request),
                "hashAlgorithmOID": SHA256_OID,
                "description": request.description,
                "clientData": request.ma_giao_dich,
            },
        )
        if response.status_code == 429:
            return quota_exhausted()
        body = response.json()
        if response.status_code != 200:
            error = body.get("error", "")
            states = {
                "authorization_pending": "cho_xac_nhan",
                "access_denied": "tu_choi",
                "expired_token": "het_han",
            }
            state = states.get(error, "loi")
            return RequestStatus(state, code=None if state != "loi" else error or "loi")  # type: ignore[arg-type]
        signed = self._post(
            "/signatures/signHash",
            {
                "credentialID": self._credential_id(),
                "SAD": body["SAD"],
                "hashes": self._hashes(request),
                "hashAlgorithmOID": SHA256_OID,
                "signAlgo": RSA_OID,
            },
        )
        if signed.status_code != 200:
            return RequestStatus("loi", code="sign_hash", message=signed.text[:200])
        values = tuple(base64.b64decode(s) for s in signed.json()["signatures"])
        return RequestStatus("da_ky", values)

    def status(self, request: SignRequest) -> RequestStatus:
        return self.submit(request)  # the same authorization (clientData), asked again

    def close(self) -> None:
        self._http.close()
