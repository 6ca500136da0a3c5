"""The store: DuckDB schema, imports, record states and the audit log."""

from hocbaso.store.audit import ChainCheck, verify_chain
from hocbaso.store.db import Store, transaction_on
from hocbaso.store.imports import ImportSummary, apply_import, load_results, load_school_data
from hocbaso.store.records import (
    STATE_NAMES_VI,
    RecordChange,
    apply_transition,
    current_records,
    transition,
)

__all__ = [
    "STATE_NAMES_VI",
    "ChainCheck",
    "ImportSummary",
    "RecordChange",
    "Store",
    "apply_import",
    "apply_transition",
    "current_records",
    "load_results",
    "load_school_data",
    "transaction_on",
    "transition",
    "verify_chain",
]
