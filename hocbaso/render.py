"""The printable copy of a record (bản thể hiện) and its paper copy (bản giấy).

The printable copy is one PDF/A-3b file per record: cover, student page and the
year page of the TT27 form, with the record XML attached byte-for-byte as the
document's associated data file (``hocba.xml``, relationship ``Data``), the way
Factur-X carries an invoice. One file then holds both the human copy and the
machine record, and the XML that was signed can always be taken back out of it.

The paper copy is the print run of a class's issued records: the same pages,
each with a margin band carrying the lookup code (mã tra cứu), the public lookup
URL and a QR code of that URL. It is rendered again from each record's XML rather
than stamped over the signed PDF, because a paper sheet proves nothing by
itself; it is checked against the registry through its code.

Typst does the layout (``templates/hocba.typ``). This module turns the XML into a
plain view (text only: codes become names, dates become ``DD/MM/YYYY``) so the
template stays a layout and the mapping is tested in Python. One Typst compiler
is kept per ``RecordRenderer``; each record is compiled on its own, because a
document of hundreds of records costs gigabytes in Typst.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import threading
from collections.abc import Iterable, Sequence
from io import BytesIO
from pathlib import Path
from typing import Any, Final, Literal

import segno
import typst
from lxml import etree
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader

from hocbaso.errors import RecordError
from hocbaso.model import (
    CRITERIA,
    CRITERION_LEVEL_NAMES,
    SUBJECT_LEVEL_NAMES,
    XEP_LOAI_NAMES,
    Criterion,
)

NS = "urn:hocbaso:hocba:1"
DATA_ELEMENT = "thongtinsohocbasotieuhoc"
ATTACHMENT_NAME = "hocba.xml"
TEMPLATE = Path(__file__).parent / "templates" / "hocba.typ"
PDF_STANDARD: Final = "a-3b"
VN_TZ = dt.timezone(dt.timedelta(hours=7))

_GIOI_TINH_NAMES = {"1": "Nam", "2": "Nữ", "0": ""}
_LIST_ELEMENTS = {"quatrinhhoctap", "dsbangdiem", "dsnhanxettieuchi"}

PaperItem = tuple[bytes, str, str]
"""One record of a paper run: (the record's PDF copy or XML, mã tra cứu, lookup URL)."""


# ------------------------------------------------------------------ reading the XML


def _local(tag: Any) -> str:
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def parse_record(xml: bytes) -> dict[str, Any]:
    """The data element of a record as a plain dict.

    Simple fields map name -> text (``""`` for an empty element);
    ``quatrinhhoctap`` becomes a list of dicts (it may repeat), ``dsbangdiem``
    a list of its ``bangdiem`` rows and the extension ``dsnhanxettieuchi`` a map
    criterion element -> comment. Unknown extension elements are kept as text so
    that a newer record still renders. Raises ``RecordError`` when the bytes are
    not a record XML.
    """
    try:
        root = etree.fromstring(
            xml, parser=etree.XMLParser(resolve_entities=False, no_network=True)
        )
    except etree.XMLSyntaxError as exc:
        raise RecordError(
            f"Không đọc được XML học bạ để tạo bản thể hiện: {exc}",
            hint="Tạo lại XML của học bạ ở bước chốt dữ liệu (hbs lock) rồi in lại.",
        ) from exc
    data = root.find(f"{{{NS}}}{DATA_ELEMENT}")
    if data is None:
        raise RecordError(
            f"XML không phải học bạ số: thiếu phần tử {DATA_ELEMENT} trong không gian tên {NS}.",
            hint="Chỉ in được tệp XML học bạ do hệ thống tạo ra (docs/record-xml.md).",
        )
    out: dict[str, Any] = {"quatrinhhoctap": [], "dsbangdiem": [], "dsnhanxettieuchi": {}}
    for child in data:
        name = _local(child.tag)
        if not name:
            continue  # comments, processing instructions
        if name == "quatrinhhoctap":
            out["quatrinhhoctap"].append({_local(c.tag): (c.text or "").strip() for c in child})
        elif name == "dsbangdiem":
            out["dsbangdiem"].extend(
                {_local(c.tag): (c.text or "").strip() for c in row}
                for row in child
                if _local(row.tag) == "bangdiem"
            )
        elif name == "dsnhanxettieuchi":
            for row in child:
                item = {_local(c.tag): (c.text or "").strip() for c in row}
                if item.get("matieuchi"):
                    out["dsnhanxettieuchi"][item["matieuchi"]] = item.get("nhanxet", "")
        elif name not in _LIST_ELEMENTS:
            out[name] = (child.text or "").strip()
    return out


# ------------------------------------------------------------------ the view


def _date_vn(value: str) -> str:
    """``YYYY-MM-DD`` as ``DD/MM/YYYY``; anything else unchanged."""
    try:
        return dt.date.fromisoformat(value).strftime("%d/%m/%Y")
    except ValueError:
        return value


def _birth(rec: dict[str, Any]) -> str:
    if rec.get("ngaythangnamsinh"):
        return _date_vn(rec["ngaythangnamsinh"])
    if rec.get("thangnamsinh"):  # YYYY-MM when the day is unknown
        year, _, month = rec["thangnamsinh"].partition("-")
        return f"{month}/{year}"
    return str(rec.get("namsinh", ""))


def date_line(place: str, value: str) -> str:
    """The place/date line of a Vietnamese administrative document.

    Day below 10 and months 1 and 2 get a leading zero (Nghị định 30/2020/NĐ-CP,
    Phụ lục I), so a date cannot be altered by hand on paper.
    """
    try:
        d = dt.date.fromisoformat(value)
    except ValueError:
        return f"{place}, ngày .... tháng .... năm ......"
    month = f"{d.month:02d}" if d.month < 3 else str(d.month)
    return f"{place}, ngày {d.day:02d} tháng {month} năm {d.year}"


def _number(value: str, unit: str) -> str:
    if not value:
        return ""
    text = value.rstrip("0").rstrip(".") if "." in value else value
    return f"{text.replace('.', ',')} {unit}"


def _criteria(rec: dict[str, Any], group: str) -> list[dict[str, str]]:
    """Rows of one criteria group; the whole group blank when none was assessed.

    A record leaves out criteria that do not apply (công nghệ, tin học before
    grade 3) and every level when a student with a disability is not assessed;
    in the second case the paper form still shows the rows, empty. A row's own
    comment comes from the extension ``dsnhanxettieuchi`` when the record has one.
    """
    members: list[Criterion] = [c for c in CRITERIA if c.group == group]
    comments: dict[str, str] = rec["dsnhanxettieuchi"]
    present = [c for c in members if rec.get(c.element) or comments.get(c.element)]
    shown = present or members
    return [
        {
            "ten": c.ten,
            "muc": CRITERION_LEVEL_NAMES.get(rec.get(c.element, ""), rec.get(c.element, "")),
            "nhanxet": comments.get(c.element, ""),
        }
        for c in shown
    ]


def _completion(rec: dict[str, Any]) -> list[str]:
    """Section 6: the record's own text, else what its flags say."""
    if rec.get("ndunghoanthanh"):
        return [rec["ndunghoanthanh"]]
    lines = []
    if rec.get("dahthanhctrinhtieuhoc") == "1":
        lines.append("Hoàn thành chương trình tiểu học.")
    elif rec.get("dahthanhctrinhlophoc") == "1":
        lines.append("Hoàn thành chương trình lớp học.")
    else:
        lines.append("Chưa hoàn thành chương trình lớp học.")
    if rec.get("duoclenlop") == "1" and rec.get("dahthanhctrinhtieuhoc") != "1":
        lines.append("Được lên lớp.")
    elif rec.get("duoclenlop") == "0" and rec.get("dahthanhctrinhlophoc") != "1":
        lines.append("Ở lại lớp.")
    return lines


def _title_lines(title: str) -> list[str]:
    """``"KT. HIỆU TRƯỞNG / PHÓ HIỆU TRƯỞNG"`` is printed on two lines, as signed."""
    return [part.strip() for part in title.split("/") if part.strip()] or ["HIỆU TRƯỞNG"]


def record_view(rec: dict[str, Any]) -> dict[str, Any]:
    """What the template prints for one record, as plain strings and lists.

    Every code becomes the name the form prints (levels, sex, overall result);
    empty stays empty so the template can draw the form's blank line.
    """
    g = rec.get
    return {
        "tieu_de": f"Học bạ {g('hovaten', '')} – năm học {g('namhoc', '')}",
        "madinhdanhhocba": g("madinhdanhhocba", ""),
        "thu_hoi": g("trangthaithongtinhocba") == "2",
        "namhoc": g("namhoc", ""),
        "tensogd": g("tensogd", ""),
        "tentruong": g("tentruong", ""),
        "xa": g("thongtintruong_diachi_tenxa", ""),
        "huyen": g("tenhuyen", ""),
        "tinh": g("thongtintruong_diachi_tentinh", ""),
        "hovaten": g("hovaten", ""),
        "gioitinh": _GIOI_TINH_NAMES.get(g("gioitinh", ""), ""),
        "ngaysinh": _birth(rec),
        "dantoc": g("dantoc", ""),
        "quoctich": g("quoctich", ""),
        "noisinh": g("noisinh_diachichitiet", ""),
        "quequan": g("quequan_diachichitiet", ""),
        "noiohiennay": g("noiohiennay_diachichitiet", ""),
        "hotencha": g("hotencha", ""),
        "hotenme": g("hotenme", ""),
        "hotennguoigiamho": g("hotennguoigiamho", ""),
        "sodinhdanh": g("sodinhdanh", ""),
        "mahocsinh": g("mahocsinh", ""),
        "sosodangbo": g("sosodangbo", ""),
        "doituongchinhsach": g("doituongchinhsach", ""),
        "khuyet_tat": g("cokhuyettatkhongdanhgia") == "1",
        "quatrinhhoctap": [
            {
                "namhoc": q.get("namhoc", ""),
                "tenlop": q.get("tenlop", ""),
                "tentruong": q.get("tentruong", ""),
                "tentinh": q.get("tentinh", ""),
                "ngaychuyenden": _date_vn(q.get("ngaytrangthaichuyenden", "")),
            }
            for q in rec["quatrinhhoctap"]
        ],
        "tenlop": g("tenlop", ""),
        "chieucao": _number(g("chieucao", ""), "cm"),
        "cannang": _number(g("cannang", ""), "kg"),
        "nghicophep": _number(g("nghicophep", "0") or "0", "buổi").removesuffix(" buổi"),
        "nghikhongphep": _number(g("nghikhongphep", "0") or "0", "buổi").removesuffix(" buổi"),
        "monhoc": [
            {
                "ten": b.get("tenmonhoc", ""),
                "muc": SUBJECT_LEVEL_NAMES.get(b.get("mucdatduoc", ""), b.get("mucdatduoc", "")),
                "diem": b.get("diemkiemtradinhky", ""),
                "nhanxet": b.get("nhanxet", ""),
            }
            for b in rec["dsbangdiem"]
        ],
        "phamchat": _criteria(rec, "pham_chat"),
        "nxetphamchat": g("nxetphamchat", ""),
        "nanglucchung": _criteria(rec, "nang_luc_chung"),
        "nxetnanglucchung": g("nxetnanglucchung", ""),
        "nanglucdacthu": _criteria(rec, "nang_luc_dac_thu"),
        "nxetnanglucdacthu": g("nxetnanglucdacthu", ""),
        "xeploai": XEP_LOAI_NAMES.get(g("xeploai", ""), g("xeploai", "")),
        "bosung": g("danhgiabosung") == "1",
        "thay_the": g("madinhdanhhocbathaythe", ""),
        "khenthuong": [k for k in (g("ndungkhenthuong", ""), g("ndungkhenthuongdotxuat", "")) if k],
        "hoanthanh": _completion(rec),
        "nxetgvcn": g("nxetgvcn", ""),
        "dongngay": date_line(g("diadanhphathanh", ""), g("ngaykyphathanh", "")),
        "chucvu_lines": _title_lines(g("chucvugiamhieu", "")),
        "tengiamhieu": g("tengiamhieu", ""),
        "tengvcn": g("tengvcn", ""),
    }


def _pdf_timestamp(rec: dict[str, Any]) -> dt.datetime:
    """The PDF's creation date: the record's date of issue, so that the same XML
    always gives the same PDF bytes (files are content-addressed in the store)."""
    for name in ("ngaykyphathanh", "ngaytao"):
        try:
            d = dt.date.fromisoformat(rec.get(name, ""))
        except ValueError:
            continue
        return dt.datetime(d.year, d.month, d.day, tzinfo=VN_TZ)
    return dt.datetime(2000, 1, 1, tzinfo=VN_TZ)


# ------------------------------------------------------------------ PDF helpers


def extract_record_xml(pdf: bytes) -> bytes:
    """The record XML attached to a printable copy, byte for byte."""
    try:
        reader = PdfFileReader(BytesIO(pdf), strict=False)
        names = reader.root["/Names"]["/EmbeddedFiles"]["/Names"]
        for i in range(0, len(names), 2):
            if str(names[i]) == ATTACHMENT_NAME:
                data: bytes = names[i + 1].get_object()["/EF"]["/F"].data
                return data
    except (PdfError, KeyError, TypeError, ValueError) as exc:
        raise RecordError(
            f"Không lấy được tệp {ATTACHMENT_NAME} đính kèm trong bản thể hiện PDF: {exc}",
            hint="Dùng bản PDF do hệ thống tạo ra, hoặc đưa vào chính tệp XML của học bạ.",
        ) from exc
    raise RecordError(
        f"Bản PDF không có tệp {ATTACHMENT_NAME} đính kèm.",
        hint="Dùng bản PDF do hệ thống tạo ra, hoặc đưa vào chính tệp XML của học bạ.",
    )


def qr_svg(url: str) -> str:
    """A QR code of ``url`` as SVG (error correction M, 2-module quiet zone)."""
    return str(segno.make(url, error="m", micro=False).svg_inline(border=2, dark="black"))


# ------------------------------------------------------------------ the renderer


class RecordRenderer:
    """Renders records with one Typst compiler kept warm.

    Typst's memoisation lives in the compiler, so a renderer reused for a
    class renders each record in tens of milliseconds. A lock serialises
    compilations: the compiler is not re-entrant and Prefect may call a task
    from several threads.
    """

    def __init__(self, *, template: Path = TEMPLATE, pdf_tags: bool = True) -> None:
        self._template = template
        self._pdf_tags = pdf_tags
        self._lock = threading.Lock()
        # Only Typst's embedded fonts: the same record renders the same on every machine.
        self._compiler = typst.Compiler(
            input=str(template), root=str(template.parent), ignore_system_fonts=True
        )

    def _compile(
        self,
        inputs: dict[str, str],
        *,
        standard: Literal["a-3b"] | None,
        timestamp: dt.datetime,
        what: str,
    ) -> bytes:
        try:
            with self._lock:
                pdf = self._compiler.compile(
                    format="pdf",
                    sys_inputs=inputs,
                    pdf_standards=standard,
                    timestamp=timestamp,
                    pdf_tags=self._pdf_tags,
                )
        except typst.TypstError as exc:
            raise RecordError(
                f"Không tạo được {what}: Typst báo lỗi “{exc.message}”.\n{exc.diagnostic}".rstrip(),
                hint="Kiểm tra mẫu in hocbaso/templates/hocba.typ; nếu chưa sửa mẫu, "
                "báo lỗi này cho nhóm kỹ thuật kèm mã học bạ.",
            ) from exc
        if not isinstance(pdf, bytes):
            raise RecordError(f"Không tạo được {what}: Typst không trả về tệp PDF.")
        return pdf

    def render(self, xml: bytes) -> bytes:
        """The printable copy of one record: PDF/A-3b with ``xml`` attached unchanged."""
        rec = parse_record(xml)
        try:
            xml_text = xml.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise RecordError(
                "XML học bạ không ở dạng mã UTF-8 nên không đính kèm nguyên vẹn được.",
                hint="Tạo lại XML của học bạ ở bước chốt dữ liệu (hbs lock).",
            ) from exc
        view = record_view(rec)
        inputs = {
            "data": json.dumps({"mode": "ban-the-hien", "records": [view]}, ensure_ascii=False),
            "xml": xml_text,
        }
        what = f"bản thể hiện của học bạ {view['madinhdanhhocba']}"
        return self._compile(
            inputs, standard=PDF_STANDARD, timestamp=_pdf_timestamp(rec), what=what
        )

    def render_many(self, xmls: Iterable[bytes]) -> list[bytes]:
        """The printable copies of several records, one PDF each, in order."""
        return [self.render(xml) for xml in xmls]

    def render_paper(self, records: Sequence[PaperItem]) -> bytes:
        """One print-ready PDF of several issued records with their lookup band.

        Each item is (the record's printable PDF or its XML, mã tra cứu, lookup
        URL). Page numbers restart for each record; every page carries the
        code, the URL and a QR code of the URL.
        """
        if not records:
            raise RecordError(
                "Không có học bạ nào để in bản giấy.",
                hint="Chỉ in được học bạ đã nộp và được CSDL Học bạ số cấp mã tra cứu.",
            )
        views = []
        first: dict[str, Any] = {}
        for source, ma_tra_cuu, url in records:
            xml = extract_record_xml(source) if source[:5] == b"%PDF-" else source
            rec = parse_record(xml)
            first = first or rec
            if not ma_tra_cuu or not url:
                raise RecordError(
                    f"Học bạ {rec.get('madinhdanhhocba', '')} chưa có mã tra cứu hoặc địa chỉ "
                    "tra cứu nên không in bản giấy được.",
                    hint="Nộp học bạ lên CSDL Học bạ số (hbs submit) để nhận mã tra cứu, "
                    "rồi in lại.",
                )
            view = record_view(rec)
            view.update(ma_tra_cuu=ma_tra_cuu, lookup_url=url, qr_svg=qr_svg(url))
            views.append(view)
        inputs = {"data": json.dumps({"mode": "ban-giay", "records": views}, ensure_ascii=False)}
        return self._compile(
            inputs,
            standard=None,
            timestamp=_pdf_timestamp(first),
            what=f"bản giấy của {len(views)} học bạ",
        )


@functools.cache
def _default_renderer() -> RecordRenderer:
    return RecordRenderer()


def render_record_pdf(xml: bytes) -> bytes:
    """The printable copy (PDF/A-3b, XML attached) of one record; see ``RecordRenderer``."""
    return _default_renderer().render(xml)


def render_paper_copy(records: Sequence[PaperItem]) -> bytes:
    """The paper copy of issued records as one PDF; see ``RecordRenderer.render_paper``."""
    return _default_renderer().render_paper(records)
