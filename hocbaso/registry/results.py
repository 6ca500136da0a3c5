"""Values the registry hands back, independent of its wire format.

The client turns every answer into one of these frozen values (or an error of
``hocbaso.errors``), so the store, the tasks and the reports never see HTTP.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

from hocbaso.errors import RegistryRejected, RegistryUnavailable

ReceiptStatus = Literal["created", "held", "confirmed"]
"""How a receipt was obtained: ``created`` (201, stored now), ``held`` (200, the
same bytes were already held), ``confirmed`` (the answer was lost and a status
query showed the registry holds exactly these bytes)."""


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why the registry refuses something: a machine code and a Vietnamese message."""

    code: str
    message: str


@dataclass(frozen=True, slots=True)
class Receipt:
    """Proof that the registry holds a record: what the store keeps with ``accepted``."""

    ma_hoc_ba: str
    ma_tra_cuu: str
    received_at: dt.datetime
    sha256: str  # SHA-256 of the XML bytes the registry holds (hex)
    status: ReceiptStatus


@dataclass(frozen=True, slots=True)
class RecordStatus:
    """What ``GET /hoc-ba/{ma_hoc_ba}`` says about a record the registry holds."""

    ma_hoc_ba: str
    trang_thai: Literal["accepted", "revoked"]
    ma_tra_cuu: str
    sha256: str
    received_at: dt.datetime | None = None
    revoked_at: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class Lookup:
    """What a verifier of a paper copy sees on the public lookup portal."""

    ma_tra_cuu: str
    truong: str
    ho_va_ten: str
    nam_hoc: str
    sha256: str
    trang_thai: Literal["accepted", "revoked"]
    received_at: dt.datetime | None = None
    revoked_at: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class SubmitItem:
    """One sealed record to send: its identifier, the signed XML and the sealed PDF."""

    ma_hoc_ba: str
    xml: bytes
    pdf: bytes


@dataclass(frozen=True, slots=True)
class Outcome:
    """The end of one record's submission in a batch: a receipt or the error.

    A rejection (``RegistryRejected``) is final for this record and does not stop
    the others; ``RegistryUnavailable`` means try again later (rerunning sends
    only records that have no receipt).
    """

    ma_hoc_ba: str
    receipt: Receipt | None = None
    error: RegistryRejected | RegistryUnavailable | None = None

    @property
    def ok(self) -> bool:
        """Whether the registry holds the record."""
        return self.receipt is not None
