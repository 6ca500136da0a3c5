"""The record (học bạ) as data and as XML.

- ``data``: ``RecordData`` and its rows, named as the national catalogue;
- ``build``: ``build_records`` from the school's frames, TT27 results and config;
- ``xml``: canonical bytes, XSD validation, data digest, parsing back.

The XML contract is ``docs/record-xml.md``; the schema ``hocbaso/record/xsd/hocba-1.0.xsd``.
"""

from hocbaso.record.build import build_records
from hocbaso.record.data import (
    DATA_ELEMENT,
    DATA_ID,
    DS_NS,
    NS,
    SIGNATURES_ELEMENT,
    SOURCE,
    XSD_VERSION,
    BangDiem,
    NhanXetTieuChi,
    QuaTrinhHocTap,
    RecordData,
)
from hocbaso.record.xml import (
    XSD_PATH,
    data_digest,
    parse_record_xml,
    record_xml,
    validate_record_xml,
)

__all__ = [
    "DATA_ELEMENT",
    "DATA_ID",
    "DS_NS",
    "NS",
    "SIGNATURES_ELEMENT",
    "SOURCE",
    "XSD_PATH",
    "XSD_VERSION",
    "BangDiem",
    "NhanXetTieuChi",
    "QuaTrinhHocTap",
    "RecordData",
    "build_records",
    "data_digest",
    "parse_record_xml",
    "record_xml",
    "validate_record_xml",
]
