"""What a verification found: named checks, each passed, failed or could not be checked.

Why not a boolean: a record that "does not verify" must say which signature, which
check and why, in Vietnamese, and "the OCSP responder did not answer" is not the same
as "the certificate is revoked". Modelled on pyHanko's status values: frozen, with a
``bottom_line`` and a ``summary()``; verification never raises for a bad signature.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

CheckStatus = Literal["passed", "failed", "could_not_check"]
STATUS_LABELS: dict[CheckStatus, str] = {
    "passed": "ĐẠT",
    "failed": "KHÔNG ĐẠT",
    "could_not_check": "CHƯA KIỂM TRA ĐƯỢC",
}


@dataclass(frozen=True, slots=True)
class Check:
    """One named check: ``name`` is stable (e.g. ``chuky-ht.chung-thu``), ``message`` Vietnamese."""

    name: str
    status: CheckStatus
    message: str


@dataclass(frozen=True)
class VerificationReport:
    """All checks of one document (``xml`` or ``pdf``), in the order they were made."""

    document: Literal["xml", "pdf"]
    checks: tuple[Check, ...]

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
        lines += [f"  [{STATUS_LABELS[c.status]}] {c.name}: {c.message}" for c in self.checks]
        return "\n".join(lines)
