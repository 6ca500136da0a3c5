"""CSDL Học bạ số: the client (and, in ``hocbaso.demo.registry``, the stand-in server)."""

from hocbaso.registry.client import RegistryClient, RetryPolicy
from hocbaso.registry.codes import (
    InvalidMaTraCuu,
    format_ma_tra_cuu,
    is_valid_ma_tra_cuu,
    new_ma_tra_cuu,
    normalize_ma_tra_cuu,
)
from hocbaso.registry.results import (
    Lookup,
    Outcome,
    Receipt,
    RecordStatus,
    Refusal,
    SubmitItem,
)
from hocbaso.registry.wire import Wire, WireV1

__all__ = [
    "InvalidMaTraCuu",
    "Lookup",
    "Outcome",
    "Receipt",
    "RecordStatus",
    "Refusal",
    "RegistryClient",
    "RetryPolicy",
    "SubmitItem",
    "Wire",
    "WireV1",
    "format_ma_tra_cuu",
    "is_valid_ma_tra_cuu",
    "new_ma_tra_cuu",
    "normalize_ma_tra_cuu",
]
