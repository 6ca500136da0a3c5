"""The store: DuckDB schema, imports, records and their moves, receipts, the audit log.

Everything that speaks SQL to the store lives in this package; the rest of the
project gets typed values (``StoredRecord``, ``StaffMember``, ``SchoolClass``)
and asks for moves by step (``hocbaso.states``).
"""

from typing import TYPE_CHECKING

from hocbaso.lazy import lazy_exports

if TYPE_CHECKING:
    from hocbaso.store.audit import ChainCheck, verify_chain
    from hocbaso.store.db import Store, transaction_on
    from hocbaso.store.imports import ImportSummary, apply_import, load_results, load_school_data
    from hocbaso.store.receipts import ReceiptWriter, receipt_writer
    from hocbaso.store.records import (
        ALLOWED,
        STATE_NAMES_VI,
        RecordChange,
        RecordFiles,
        StoredRecord,
        apply_transition,
        classes_waiting,
        current_records,
        open_next_version,
        record,
        transition,
    )
    from hocbaso.store.school import SchoolClass, StaffMember, classes, staff

# Each public name and the submodule it comes from: imported when first used.
_EXPORTS = {
    "ChainCheck": "audit",
    "verify_chain": "audit",
    "Store": "db",
    "transaction_on": "db",
    "ImportSummary": "imports",
    "apply_import": "imports",
    "load_results": "imports",
    "load_school_data": "imports",
    "ReceiptWriter": "receipts",
    "receipt_writer": "receipts",
    "ALLOWED": "records",
    "STATE_NAMES_VI": "records",
    "RecordChange": "records",
    "RecordFiles": "records",
    "StoredRecord": "records",
    "apply_transition": "records",
    "classes_waiting": "records",
    "current_records": "records",
    "open_next_version": "records",
    "record": "records",
    "transition": "records",
    "SchoolClass": "school",
    "StaffMember": "school",
    "classes": "school",
    "staff": "school",
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

__all__ = [
    "ALLOWED",
    "STATE_NAMES_VI",
    "ChainCheck",
    "ImportSummary",
    "ReceiptWriter",
    "RecordChange",
    "RecordFiles",
    "SchoolClass",
    "StaffMember",
    "Store",
    "StoredRecord",
    "apply_import",
    "apply_transition",
    "classes",
    "classes_waiting",
    "current_records",
    "load_results",
    "load_school_data",
    "open_next_version",
    "receipt_writer",
    "record",
    "staff",
    "transaction_on",
    "transition",
    "verify_chain",
]
