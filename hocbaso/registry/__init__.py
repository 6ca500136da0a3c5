"""CSDL Học bạ số: the client (and, in ``hocbaso.registry.standin``, the stand-in server)."""

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

__all__ = [
    "InvalidMaTraCuu",
    "Lookup",
    "Outcome",
    "Receipt",
    "RecordStatus",
    "Refusal",
    "SubmitItem",
    "format_ma_tra_cuu",
    "is_valid_ma_tra_cuu",
    "new_ma_tra_cuu",
    "normalize_ma_tra_cuu",
]
