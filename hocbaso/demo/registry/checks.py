"""The checks the stand-in makes on every record it receives, before any extra verifier.

What it can check without the project's XSD and signature code: the XML is
well formed and is a record of the contract (docs/record-xml.md), its
``madinhdanhhocba`` is the identifier in the URL (``ID``), and the PDF carries
exactly these XML bytes as an embedded file (``MISMATCH``). Schema, signatures
and timestamp (``XSD``, ``SIGNATURE``, ``TIMESTAMP``) are the extra verifier's
job: ``Verifier`` is the seam the real checks plug into.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from lxml import etree
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader

from hocbaso.registry.results import Refusal

Verifier = Callable[[bytes, bytes], list[Refusal]]
"""An extra check of ``(xml, pdf)``: the refusals found, empty if the record passes."""

NS = "urn:hocbaso:hocba:1"
_DATA = f"{{{NS}}}thongtinsohocbasotieuhoc"
_MAX_NAME_TREE_DEPTH = 16


@dataclass(frozen=True, slots=True)
class RecordFacts:
    """What the registry reads out of a record: the public lookup shows these."""

    ma_hoc_ba: str
    ma_truong: str
    truong: str
    ho_va_ten: str
    nam_hoc: str


class RecordRefused(Exception):
    """Raised inside the stand-in when a record fails a check; carries the refusals."""

    def __init__(self, refusals: list[Refusal]) -> None:
        super().__init__(refusals[0].message if refusals else "")
        self.refusals = refusals


def _parser() -> etree.XMLParser:
    # No entities, no network, no huge trees: the bytes come from outside. Comments and
    # processing instructions are dropped so that one inside a value
    # (``Lê Đìn<!---->h Kiên``) does not cut the value short.
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )


def _text(data: etree._Element, name: str) -> str:
    element = data.find(f"{{{NS}}}{name}")
    return (element.text or "").strip() if element is not None else ""


def replaced_record(xml: bytes) -> str | None:
    """The record a new version replaces (``madinhdanhhocbathaythe``), if it names one."""
    try:
        root = etree.fromstring(xml, _parser())
    except etree.XMLSyntaxError:
        return None
    data = root.find(_DATA)
    return _text(data, "madinhdanhhocbathaythe") or None if data is not None else None


def read_facts(xml: bytes) -> RecordFacts:
    """Parse the record and read its identifying facts, or refuse it (code ``XSD``)."""
    try:
        root = etree.fromstring(xml, _parser())
    except etree.XMLSyntaxError as exc:
        raise RecordRefused(
            [Refusal("XSD", f"Tệp XML không đúng cú pháp (dòng {exc.lineno}).")]
        ) from exc
    if root.getroottree().docinfo.internalDTD is not None:
        raise RecordRefused([Refusal("XSD", "Tệp XML có khai báo DOCTYPE/thực thể (entity).")])
    data = root.find(_DATA)
    if root.tag != f"{{{NS}}}hocba" or data is None:
        raise RecordRefused(
            [
                Refusal(
                    "XSD",
                    "Tệp XML không phải học bạ số (thiếu phần tử hocba/"
                    "thongtinsohocbasotieuhoc trong không gian tên urn:hocbaso:hocba:1).",
                )
            ]
        )
    facts = RecordFacts(
        ma_hoc_ba=_text(data, "madinhdanhhocba"),
        ma_truong=_text(data, "matruong"),
        truong=_text(data, "tentruong"),
        ho_va_ten=_text(data, "hovaten"),
        nam_hoc=_text(data, "namhoc"),
    )
    missing = [
        name
        for name, value in (
            ("madinhdanhhocba", facts.ma_hoc_ba),
            ("matruong", facts.ma_truong),
            ("tentruong", facts.truong),
            ("hovaten", facts.ho_va_ten),
            ("namhoc", facts.nam_hoc),
        )
        if not value
    ]
    if missing:
        raise RecordRefused(
            [Refusal("XSD", f"Tệp XML thiếu trường bắt buộc: {', '.join(missing)}.")]
        )
    return facts


def _name_tree_values(node: generic.DictionaryObject, depth: int = 0) -> Iterator[object]:
    """The values of a PDF name tree (ISO 32000 §7.9.6), following ``/Kids``."""
    if depth > _MAX_NAME_TREE_DEPTH:
        return
    names = node.get("/Names")
    if names is not None:
        pairs = names.get_object()
        for i in range(1, len(pairs), 2):
            yield pairs[i].get_object()
    kids = node.get("/Kids")
    if kids is not None:
        for kid in kids.get_object():
            yield from _name_tree_values(kid.get_object(), depth + 1)


def embedded_files(pdf: bytes) -> list[bytes]:
    """The contents of every embedded file of ``pdf`` (name tree and catalog ``/AF``).

    Raises ``RecordRefused`` (``MISMATCH``) if the PDF cannot be read.
    """
    try:
        reader = PdfFileReader(io.BytesIO(pdf), strict=False)
        root = reader.root
        specs: list[object] = []
        names = root.get("/Names")
        if names is not None:
            tree = names.get_object().get("/EmbeddedFiles")
            if tree is not None:
                specs.extend(_name_tree_values(tree.get_object()))
        af = root.get("/AF")
        if af is not None:
            specs.extend(spec.get_object() for spec in af.get_object())
        contents: list[bytes] = []
        for spec in specs:
            if not isinstance(spec, generic.DictionaryObject) or "/EF" not in spec:
                continue
            ef = spec["/EF"]
            stream = ef.get("/UF") or ef.get("/F")
            if stream is not None:
                contents.append(stream.get_object().data)
        return contents
    except (PdfError, KeyError, TypeError, ValueError, AttributeError) as exc:
        raise RecordRefused(
            [Refusal("MISMATCH", "Không đọc được tệp PDF để tìm tệp XML đính kèm.")]
        ) from exc


def basic_checks(ma_hoc_ba: str, xml: bytes, pdf: bytes) -> RecordFacts:
    """Check what the stand-in can check itself; return the record's facts or refuse."""
    facts = read_facts(xml)
    if facts.ma_hoc_ba != ma_hoc_ba:
        raise RecordRefused(
            [
                Refusal(
                    "ID",
                    "Mã định danh học bạ (madinhdanhhocba) trong tệp XML khác mã "
                    "trên đường dẫn gửi lên.",
                )
            ]
        )
    attached = embedded_files(pdf)
    if not attached:
        raise RecordRefused([Refusal("MISMATCH", "Tệp PDF không có tệp XML đính kèm.")])
    if xml not in attached:
        raise RecordRefused(
            [
                Refusal(
                    "MISMATCH",
                    "Không tệp nào đính kèm trong PDF trùng từng byte với tệp XML gửi lên.",
                )
            ]
        )
    return facts
