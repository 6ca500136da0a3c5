"""What a verification found: named checks, and per signature an ETSI indication.

Why not a boolean: a record that "does not verify" must say which signature, which
check and why, in Vietnamese, and "the OCSP responder did not answer" is not the same
as "the certificate is revoked". Each check also carries the sub-indication of ETSI
EN 319 102-1 it stands for (``HASH_FAILURE``, ``REVOKED``, ``TRY_LATER`` ...), so the
report can say, per signature and per file, ``TOTAL-PASSED``, ``INDETERMINATE`` or
``TOTAL-FAILED`` in the standard's terms. Verification never raises for a bad file.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Literal

CheckStatus = Literal["passed", "failed", "could_not_check"]
Indication = Literal["TOTAL-PASSED", "INDETERMINATE", "TOTAL-FAILED"]
STATUS_LABELS: dict[CheckStatus, str] = {
    "passed": "ĐẠT",
    "failed": "KHÔNG ĐẠT",
    "could_not_check": "CHƯA KIỂM TRA ĐƯỢC",
}
INDICATION_LABELS: dict[Indication, str] = {
    "TOTAL-PASSED": "HỢP LỆ",
    "INDETERMINATE": "CHƯA KẾT LUẬN ĐƯỢC",
    "TOTAL-FAILED": "KHÔNG HỢP LỆ",
}
# EN 319 102-1 table 5: the sub-indications that leave a signature INDETERMINATE
# (the others, FORMAT_FAILURE, HASH_FAILURE, SIG_CRYPTO_FAILURE, REVOKED,
# NOT_YET_VALID, EXPIRED, make it TOTAL-FAILED).
INDETERMINATE_SUB_INDICATIONS = frozenset(
    {
        "SIG_CONSTRAINTS_FAILURE",
        "CHAIN_CONSTRAINTS_FAILURE",
        "CERTIFICATE_CHAIN_GENERAL_FAILURE",
        "CRYPTO_CONSTRAINTS_FAILURE",
        "OUT_OF_BOUNDS_NO_POE",
        "OUT_OF_BOUNDS_NOT_REVOKED",
        "REVOKED_NO_POE",
        "REVOKED_CA_NO_POE",
        "TIMESTAMP_ORDER_FAILURE",
        "NO_SIGNING_CERTIFICATE_FOUND",
        "NO_CERTIFICATE_CHAIN_FOUND",
        "TRY_LATER",
        "SIGNED_DATA_NOT_FOUND",
        "NO_POE",
    }
)
_RANK: dict[Indication, int] = {"TOTAL-PASSED": 0, "INDETERMINATE": 1, "TOTAL-FAILED": 2}


@dataclass(frozen=True, slots=True)
class Check:
    """One named check: ``name`` is stable (e.g. ``chuky-ht.chung-thu``), ``message`` Vietnamese.

    ``sub_indication``: the ETSI sub-indication a failure stands for; a failure without
    one is a ``FORMAT_FAILURE``, a check that could not be made ``TRY_LATER``.
    """

    name: str
    status: CheckStatus
    message: str
    sub_indication: str | None = None

    @property
    def indication(self) -> Indication:
        if self.status == "passed":
            return "TOTAL-PASSED"
        if self.status == "could_not_check":
            return "INDETERMINATE"
        return (
            "INDETERMINATE"
            if self.sub_indication in INDETERMINATE_SUB_INDICATIONS
            else "TOTAL-FAILED"
        )

    @property
    def etsi_sub_indication(self) -> str | None:
        if self.status == "passed":
            return None
        if self.sub_indication:
            return self.sub_indication
        return "TRY_LATER" if self.status == "could_not_check" else "FORMAT_FAILURE"


def worst(checks: tuple[Check, ...] | list[Check]) -> tuple[Indication, str | None]:
    """The indication of a set of checks and the sub-indication of its first worst check."""
    if not checks:
        return "INDETERMINATE", "SIGNED_DATA_NOT_FOUND"
    found = max(checks, key=lambda c: _RANK[c.indication])
    return found.indication, found.etsi_sub_indication


def _iso(moment: dt.datetime | None) -> str | None:
    return moment.isoformat(timespec="seconds") if moment is not None else None


@dataclass(frozen=True)
class SignatureInfo:
    """One signature (or document/archive timestamp) and the checks made on it.

    ``prefix``: the check names that belong to it start with ``prefix + "."``.
    """

    prefix: str
    role: str
    signer: str
    signing_time: dt.datetime | None
    best_signature_time: dt.datetime | None


@dataclass(frozen=True)
class VerificationReport:
    """All checks of one document (``xml`` or ``pdf``), in the order they were made."""

    document: Literal["xml", "pdf"]
    checks: tuple[Check, ...]
    signatures: tuple[SignatureInfo, ...] = ()

    @property
    def bottom_line(self) -> bool:
        """True only when there are checks and every one passed."""
        return bool(self.checks) and all(c.status == "passed" for c in self.checks)

    @property
    def failed(self) -> tuple[Check, ...]:
        return tuple(c for c in self.checks if c.status == "failed")

    @property
    def could_not_check(self) -> tuple[Check, ...]:
        return tuple(c for c in self.checks if c.status == "could_not_check")

    def check(self, name: str) -> Check:
        """The check called ``name`` (KeyError if it was not made)."""
        for c in self.checks:
            if c.name == name:
                return c
        raise KeyError(name)

    def checks_of(self, signature: SignatureInfo) -> tuple[Check, ...]:
        return tuple(c for c in self.checks if c.name.startswith(signature.prefix + "."))

    @property
    def indication(self) -> Indication:
        return worst(self.checks)[0]

    @property
    def sub_indication(self) -> str | None:
        return worst(self.checks)[1]

    def signature_dicts(self) -> list[dict[str, Any]]:
        """Per signature, what ``--json`` shows."""
        found = []
        for sig in self.signatures:
            indication, sub = worst(self.checks_of(sig))
            found.append(
                {
                    "id": sig.prefix,
                    "role": sig.role,
                    "signer": sig.signer,
                    "signing_time": _iso(sig.signing_time),
                    "best_signature_time": _iso(sig.best_signature_time),
                    "indication": indication,
                    "sub_indication": sub,
                    "checks": [check_dict(c) for c in self.checks_of(sig)],
                }
            )
        return found

    def summary(self) -> str:
        """Vietnamese text for the working group: the verdict, then one line per check."""
        if self.bottom_line:
            verdict = "Hợp lệ: mọi kiểm tra đều đạt."
        elif self.failed:
            verdict = f"Không hợp lệ: {len(self.failed)} kiểm tra không đạt."
        else:
            verdict = (
                f"Chưa kết luận được: {len(self.could_not_check)} kiểm tra chưa thực hiện được."
            )
        kind = "XML" if self.document == "xml" else "PDF"
        lines = [f"Kiểm tra chữ ký bản {kind}: {verdict}"]
        lines += [check_line(c) for c in self.checks]
        return "\n".join(lines)


def check_line(c: Check) -> str:
    """One check as a line of the Vietnamese report."""
    sub = f" ({c.etsi_sub_indication})" if c.status != "passed" else ""
    return f"  [{STATUS_LABELS[c.status]}] {c.name}: {c.message}{sub}"


def check_dict(c: Check) -> dict[str, Any]:
    return {
        "name": c.name,
        "status": c.status,
        "indication": c.indication,
        "sub_indication": c.etsi_sub_indication,
        "message": c.message,
    }
