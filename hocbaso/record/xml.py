"""The record as XML: canonical bytes, schema validation, data digest, parsing back.

``record_xml`` is deterministic: the same ``RecordData`` always gives the same
bytes (the store addresses files by content, and a locked record's SHA-256 must
not move). ``data_digest`` hashes the exclusive C14N of the data element only, so
signatures added to ``<chuky>`` never change it. The schema is parsed once per
thread: lxml validators keep their error log on the object and are not meant to
be shared between threads, and Prefect runs tasks on worker threads.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import threading
import unicodedata
from dataclasses import fields
from decimal import Decimal
from importlib.resources import files
from pathlib import Path
from typing import Any, Final

from lxml import etree

from hocbaso.errors import RecordError
from hocbaso.model import XepLoai
from hocbaso.record.data import (
    DATA_ELEMENT,
    DATA_ID,
    DS_NS,
    NS,
    ROOT_ELEMENT,
    SIGNATURES_ELEMENT,
    SOURCE,
    XSD_VERSION,
    BangDiem,
    NhanXetTieuChi,
    QuaTrinhHocTap,
    RecordData,
)

#: The schema file, package data found through importlib.resources (so a wheel carries
#: it). It imports the W3C XML-Signature schema next to it, so libxml2 needs both as real
#: files side by side, as they are in every installation pip makes.
XSD_PATH: Final = Path(str(files("hocbaso.record").joinpath("xsd", f"hocba-{XSD_VERSION}.xsd")))

_Q = "{%s}%%s" % NS  # noqa: UP031 - a template for qualified names
_SAFE_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, remove_blank_text=False, huge_tree=False
)
# For reading values: a comment or processing instruction inside a text value
# (``Lê Đìn<!---->h Kiên``) must not cut the value short, so they are dropped while
# parsing and the text around them is read as one.
_READ_PARSER = etree.XMLParser(
    resolve_entities=False,
    no_network=True,
    remove_blank_text=False,
    huge_tree=False,
    remove_comments=True,
    remove_pis=True,
)

_BOOL_FIELDS = frozenset(f.name for f in fields(RecordData) if f.type in ("bool", "bool | None"))
_DATE_FIELDS = frozenset(
    f.name for f in fields(RecordData) if f.type in ("dt.date", "dt.date | None")
)
_NUMBER_FIELDS = frozenset({"cannang", "chieucao", "nghicophep", "nghikhongphep"})
_ROW_TYPES: dict[str, type] = {
    "quatrinhhoctap": QuaTrinhHocTap,
    "dsbangdiem": BangDiem,
    "dsnhanxettieuchi": NhanXetTieuChi,
}
_ROW_ELEMENT = {"dsbangdiem": "bangdiem", "dsnhanxettieuchi": "nhanxettieuchi"}


# ------------------------------------------------------------------ writing


def _text(value: Any) -> str | None:
    """The XML text of a value, or None when the element is left out."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, int | float | Decimal):
        number = Decimal(str(value)).normalize()
        return f"{number:f}"
    text = unicodedata.normalize("NFC", str(value)).strip()
    return text or None


def _append(parent: etree._Element, name: str, value: Any) -> None:
    text = _text(value)
    if text is not None:
        etree.SubElement(parent, _Q % name).text = text


def _append_row(parent: etree._Element, name: str, row: Any) -> None:
    element = etree.SubElement(parent, _Q % name)
    for f in fields(row):
        _append(element, f.name, getattr(row, f.name))


def record_xml(r: RecordData) -> bytes:
    """The record's canonical bytes: UTF-8, XML declaration, an empty ``<chuky/>``."""
    root = etree.Element(_Q % ROOT_ELEMENT, nsmap={None: NS})  # type: ignore[dict-item]  # lxml accepts a default ns
    root.set("phienbanxsd", XSD_VERSION)
    data = etree.SubElement(root, _Q % DATA_ELEMENT)
    data.set("Id", DATA_ID)
    try:
        for f in fields(r):
            value = getattr(r, f.name)
            if f.name == "quatrinhhoctap":
                for row in value:
                    _append_row(data, f.name, row)
            elif f.name in _ROW_ELEMENT:
                if value:
                    container = etree.SubElement(data, _Q % f.name)
                    for row in value:
                        _append_row(container, _ROW_ELEMENT[f.name], row)
            else:
                _append(data, f.name, value)
    except ValueError as exc:  # lxml refuses control characters in text
        raise RecordError(
            f"Dữ liệu của học bạ {r.madinhdanhhocba} có ký tự không dùng được trong XML: {exc}",
            hint="Xóa các ký tự điều khiển (thường do dán từ phần mềm khác) trong ô dữ liệu "
            "rồi nhập lại.",
        ) from exc
    etree.SubElement(root, _Q % SIGNATURES_ELEMENT)
    return etree.tostring(root, encoding="UTF-8", xml_declaration=True)


# ------------------------------------------------------------------ validating

_local_schema = threading.local()


def _schema() -> etree.XMLSchema:
    schema: etree.XMLSchema | None = getattr(_local_schema, "schema", None)
    if schema is None:
        try:
            schema = etree.XMLSchema(etree.parse(str(XSD_PATH), parser=_SAFE_PARSER))
        except (OSError, etree.XMLSchemaParseError, etree.XMLSyntaxError) as exc:
            raise RecordError(
                f"Không nạp được lược đồ XML học bạ {XSD_PATH}: {exc}",
                hint="Cài đặt lại phần mềm (thư mục hocbaso/record/xsd/ của gói phải có "
                "hocba-1.0.xsd và xmldsig-core-schema.xsd).",
            ) from exc
        _local_schema.schema = schema
    return schema


_ELEMENT_RE = re.compile(r"Element '(?:\{[^}]*\})?([^']+)'")
_EXPECTED_RE = re.compile(r"Expected is (?:one of )?\( ([^)]*) \)")
_FACET_RE = re.compile(r"\[facet '(\w+)'\]")
_LIMIT_RE = re.compile(r"allowed (?:maximum|minimum) length of '(\d+)'")


def _local_names(text: str) -> str:
    return ", ".join(re.sub(r"\{[^}]*\}", "", n).strip() for n in text.split(","))


def _where(doc: etree._Element, error: Any, element: str) -> str:
    """The offending node as a readable path below the data element, e.g.
    ``<dsbangdiem/bangdiem[3]/diemkiemtradinhky> (môn Toán)``."""
    try:
        nodes = doc.xpath(error.path, namespaces={"ds": DS_NS, "hb": NS}) if error.path else []
    except etree.XPathError:
        nodes = []
    if not isinstance(nodes, list) or not nodes or not isinstance(nodes[0], etree._Element):
        return f"<{element}>"
    node: etree._Element = nodes[0]
    parts: list[str] = []
    subject = None
    current: etree._Element | None = node
    while current is not None and etree.QName(current).localname not in (
        DATA_ELEMENT,
        ROOT_ELEMENT,
    ):
        name = etree.QName(current).localname
        parent = current.getparent()
        same = [c for c in parent if c.tag == current.tag] if parent is not None else [current]
        parts.append(f"{name}[{same.index(current) + 1}]" if len(same) > 1 else name)
        if name == "bangdiem":
            subject = current.findtext(_Q % "tenmonhoc")
        current = parent
    path = "/".join(reversed(parts)) or element
    return f"<{path}> (môn {subject})" if subject else f"<{path}>"


def _explain(error: Any, doc: etree._Element) -> str:
    """One libxml2 schema error as a Vietnamese sentence, without the offending value
    (it may be a student's name or ID and messages can leave the school)."""
    message: str = error.message
    m = _ELEMENT_RE.search(message)
    element = m.group(1) if m else "?"
    where = f"phần tử {_where(doc, error, element)}"
    source = SOURCE.get(element)
    if "Missing child element" in message:
        expected = _EXPECTED_RE.search(message)
        missing = _local_names(expected.group(1)) if expected else "?"
        return f"{where} thiếu phần tử bắt buộc <{missing}>" + (
            f" (nguồn: {SOURCE[missing]})" if missing in SOURCE else ""
        )
    if "This element is not expected" in message:
        expected = _EXPECTED_RE.search(message)
        if expected:
            missing = _local_names(expected.group(1))
            hint = f" (nguồn: {SOURCE[missing]})" if missing in SOURCE else ""
            return f"thiếu phần tử bắt buộc <{missing}> trước {where}{hint}"
        return f"{where} không được phép ở vị trí này"
    if "Duplicate key-sequence" in message:
        return f"{where} bị lặp (mỗi môn học, mỗi tiêu chí chỉ được một dòng)"
    facet = _FACET_RE.search(message)
    reason = {
        "maxLength": "dài quá mức cho phép",
        "minLength": "đang để trống",
        "pattern": "không đúng định dạng",
        "enumeration": "không thuộc danh mục mã cho phép",
        "minInclusive": "nhỏ hơn mức cho phép",
        "maxInclusive": "lớn hơn mức cho phép",
        "fractionDigits": "có quá nhiều chữ số thập phân",
    }.get(facet.group(1) if facet else "", "không hợp lệ theo lược đồ")
    limit = _LIMIT_RE.search(message)
    if limit:
        reason += f" ({limit.group(1)} ký tự)"
    return f"{where} {reason}" + (f" (nguồn: {source})" if source else "")


def validate_record_xml(xml: bytes) -> None:
    """Refuse bytes that are not a well-formed record valid against the schema
    (``hocbaso/record/xsd/hocba-1.0.xsd``).

    Raises ``RecordError`` naming the first problems by element (and subject row).
    """
    try:
        doc = etree.fromstring(xml, parser=_SAFE_PARSER)
    except etree.XMLSyntaxError as exc:
        raise RecordError(
            f"XML học bạ không đúng cú pháp (dòng {exc.lineno}).",
            hint="Tạo lại XML ở bước chốt dữ liệu; không sửa tay tệp XML của học bạ.",
        ) from exc
    schema = _schema()
    if schema.validate(doc):
        return
    errors = list(schema.error_log)  # type: ignore[call-overload]  # lxml-stubs: not Iterable
    shown = "; ".join(_explain(e, doc) for e in errors[:3])
    more = f" (và {len(errors) - 3} lỗi khác)" if len(errors) > 3 else ""
    raise RecordError(
        f"XML học bạ không hợp lệ theo lược đồ hocba-{XSD_VERSION}.xsd: {shown}{more}.",
        hint="Sửa dữ liệu ở nguồn được chỉ ra rồi chốt dữ liệu lại. Nếu dữ liệu nguồn đúng, "
        "báo lỗi cho người quản trị hệ thống.",
    )


# ------------------------------------------------------------------ digest and parsing


def _parse(xml: bytes, parser: etree.XMLParser = _SAFE_PARSER) -> etree._Element:
    try:
        root = etree.fromstring(xml, parser=parser)
    except etree.XMLSyntaxError as exc:
        raise RecordError(
            f"XML học bạ không đúng cú pháp (dòng {exc.lineno}).",
            hint="Dùng tệp XML do hệ thống tạo ra; không sửa tay tệp XML của học bạ.",
        ) from exc
    return _data_element(root)


def _data_element(root: etree._Element) -> etree._Element:
    """The data element of a parsed record, or the RecordError ``_parse`` gives."""
    if root.getroottree().docinfo.internalDTD is not None:
        raise RecordError(
            "XML học bạ có khai báo DOCTYPE/thực thể (entity), điều học bạ số không dùng.",
            hint="Dùng tệp XML do hệ thống tạo ra; không sửa tay tệp XML của học bạ.",
        )
    data = root.find(_Q % DATA_ELEMENT)
    if root.tag != _Q % ROOT_ELEMENT or data is None:
        raise RecordError(
            f"Tệp không phải học bạ số: thiếu phần tử {DATA_ELEMENT} trong không gian tên {NS}.",
            hint="Chỉ dùng tệp XML học bạ do hệ thống tạo ra (docs/record-xml.md).",
        )
    return data


def data_digest(xml: bytes) -> str:
    """SHA-256 (hex) of the exclusive C14N of the data element; signatures don't change it."""
    return _digest_of(_parse(xml))


def data_digest_of(root: etree._Element) -> str:
    """``data_digest`` of a record already parsed (with entities unresolved, as
    ``_SAFE_PARSER`` parses): the same digest, or the same RecordError, without
    parsing the bytes again (signing compares the digests of records it has parsed)."""
    return _digest_of(_data_element(root))


def _digest_of(data: etree._Element) -> str:
    return hashlib.sha256(etree.tostring(data, method="c14n", exclusive=True)).hexdigest()


def _value(name: str, text: str, annotation: str) -> Any:
    if name in _BOOL_FIELDS:
        return text == "1"
    if name in _DATE_FIELDS:
        return dt.date.fromisoformat(text)
    if name in _NUMBER_FIELDS:
        return float(text)
    if name == "xeploai":
        return XepLoai(text)
    return text


def _row(element: etree._Element, row_type: type) -> Any:
    values: dict[str, Any] = {}
    names = {f.name: str(f.type) for f in fields(row_type)}
    for child in element:
        name = etree.QName(child).localname
        if name in names:
            text = child.text or ""
            values[name] = dt.date.fromisoformat(text) if "date" in names[name] else text
    return row_type(**values)


def parse_record_xml(xml: bytes) -> RecordData:
    """The ``RecordData`` a record XML holds (signatures ignored); the inverse of
    ``record_xml``. Raises ``RecordError`` if the bytes are not a record. Comments and
    processing instructions inside values are read through, not as the value's end."""
    data = _parse(xml, _READ_PARSER)
    known = {f.name: str(f.type) for f in fields(RecordData)}
    values: dict[str, Any] = {"quatrinhhoctap": [], "dsbangdiem": [], "dsnhanxettieuchi": []}
    try:
        for child in data:
            if not isinstance(child.tag, str):
                continue  # comments, processing instructions
            name = etree.QName(child).localname
            if name == "quatrinhhoctap":
                values[name].append(_row(child, QuaTrinhHocTap))
            elif name in _ROW_ELEMENT:
                values[name].extend(_row(row, _ROW_TYPES[name]) for row in child)
            elif name in known:
                values[name] = _value(name, child.text or "", known[name])
        for name in _ROW_TYPES:
            values[name] = tuple(values[name])
        return RecordData(**values)
    except TypeError as exc:  # a required element is absent: the message names the field
        raise RecordError(
            f"XML học bạ thiếu trường dữ liệu bắt buộc ({exc}).",
            hint="Kiểm tra tệp bằng validate_record_xml (hoặc xmllint với "
            "hocbaso/record/xsd/hocba-1.0.xsd).",
        ) from exc
    except ValueError as exc:  # a date, number or code that does not parse: no value shown
        raise RecordError(
            "XML học bạ có một trường ngày, số hoặc mã không đọc được.",
            hint="Kiểm tra tệp bằng validate_record_xml (hoặc xmllint với "
            "hocbaso/record/xsd/hocba-1.0.xsd).",
        ) from exc
