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

Typst does the layout (``templates/hocba.typ``). This module reads the XML with
``hocbaso.record.parse_record_xml`` (the one parser of the record) and turns the
``RecordData`` into a plain view (text only: codes become names, dates become
``DD/MM/YYYY``) so the template stays a layout and the mapping is tested in
Python. One Typst compiler is kept per ``RecordRenderer``; each record is
compiled on its own, because a document of hundreds of records costs gigabytes
in Typst.
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
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader

from hocbaso.codes import DAN_TOC, QUOC_TICH
from hocbaso.errors import RecordError
from hocbaso.model import (
    CRITERIA,
    CRITERION_LEVEL_NAMES,
    SUBJECT_LEVEL_NAMES,
    XEP_LOAI_NAMES,
    Criterion,
)
from hocbaso.record import RecordData, parse_record_xml

ATTACHMENT_NAME: Final = "hocba.xml"
TEMPLATE: Final = Path(__file__).parent / "templates" / "hocba.typ"
PDF_STANDARD: Final = "a-3b"
VN_TZ: Final = dt.timezone(dt.timedelta(hours=7))

_GIOI_TINH_NAMES: Final = {"1": "Nam", "2": "Nữ"}

PaperItem = tuple[bytes, str, str]
"""One record of a paper run: (the record's PDF copy or XML, mã tra cứu, lookup URL)."""


# ------------------------------------------------------------------ the view


def _date_vn(value: dt.date | None) -> str:
    return value.strftime("%d/%m/%Y") if value else ""


def _birth(r: RecordData) -> str:
    if r.ngaythangnamsinh:
        return _date_vn(r.ngaythangnamsinh)
    if r.thangnamsinh:  # YYYY-MM when the day is unknown
        year, _, month = r.thangnamsinh.partition("-")
        return f"{month}/{year}"
    return r.namsinh or ""


def date_line(place: str, value: dt.date | None) -> str:
    """The place/date line of a Vietnamese administrative document.

    Day below 10 and months 1 and 2 get a leading zero (Nghị định 30/2020/NĐ-CP,
    Phụ lục I), so a date cannot be altered by hand on paper.
    """
    if value is None:
        return f"{place}, ngày .... tháng .... năm ......"
    month = f"{value.month:02d}" if value.month < 3 else str(value.month)
    return f"{place}, ngày {value.day:02d} tháng {month} năm {value.year}"


def _number(value: float | None, unit: str = "") -> str:
    """Vietnamese decimal comma, no trailing zeros: 32.5 -> "32,5", 138.0 -> "138"."""
    if value is None:
        return ""
    text = f"{value:.2f}".rstrip("0").rstrip(".").replace(".", ",")
    return f"{text} {unit}".strip()


def _criteria(r: RecordData, group: str) -> list[dict[str, str]]:
    """Rows of one criteria group; the whole group blank when none was assessed.

    A record leaves out criteria that do not apply (công nghệ, tin học before
    grade 3) and every level when a student with a disability is not assessed;
    in the second case the paper form still shows the rows, empty. A row's own
    comment comes from the extension ``dsnhanxettieuchi`` when the record has one.
    """
    members: list[Criterion] = [c for c in CRITERIA if c.group == group]
    comments = {n.matieuchi: n.nhanxet for n in r.dsnhanxettieuchi}
    levels = {c.element: getattr(r, c.element) or "" for c in members}
    present = [c for c in members if levels[c.element] or comments.get(c.element)]
    return [
        {
            "ten": c.ten,
            "muc": CRITERION_LEVEL_NAMES.get(levels[c.element], levels[c.element]),
            "nhanxet": comments.get(c.element, ""),
        }
        for c in present or members
    ]


def _completion(r: RecordData) -> list[str]:
    """Section 6: the record's own text, else what its flags say."""
    if r.ndunghoanthanh:
        return [r.ndunghoanthanh]
    if r.dahthanhctrinhtieuhoc:
        return ["Hoàn thành chương trình tiểu học."]
    if r.dahthanhctrinhlophoc:
        return ["Hoàn thành chương trình lớp học."]
    if r.makhoi == "5":  # grade 5: the primary programme, never a promotion (TT27 Điều 11)
        return ["Chưa hoàn thành chương trình tiểu học."] + ([] if r.duoclenlop else ["Ở lại lớp."])
    return [
        "Chưa hoàn thành chương trình lớp học.",
        "Được lên lớp." if r.duoclenlop else "Ở lại lớp.",
    ]


def _title_lines(title: str) -> list[str]:
    """``"KT. HIỆU TRƯỞNG / PHÓ HIỆU TRƯỞNG"`` is printed on two lines, as signed."""
    return [part.strip() for part in title.split("/") if part.strip()] or ["HIỆU TRƯỞNG"]


def record_view(r: RecordData) -> dict[str, Any]:
    """What the template prints for one record, as plain strings and lists.

    Every code becomes the name the form prints (levels, sex, ethnicity,
    nationality, overall result); an absent value becomes ``""`` so that the
    template can draw the form's blank line.
    """
    return {
        "tieu_de": f"Học bạ {r.hovaten} – năm học {r.namhoc}",
        "madinhdanhhocba": r.madinhdanhhocba,
        "thu_hoi": r.trangthaithongtinhocba == "2",
        "thay_the": r.madinhdanhhocbathaythe or "",
        "namhoc": r.namhoc,
        "tensogd": r.tensogd,
        "tentruong": r.tentruong,
        "xa": r.thongtintruong_diachi_tenxa,
        "huyen": r.tenhuyen or "",
        "tinh": r.thongtintruong_diachi_tentinh,
        "hovaten": r.hovaten,
        "gioitinh": _GIOI_TINH_NAMES.get(r.gioitinh, ""),
        "ngaysinh": _birth(r),
        "dantoc": DAN_TOC.get(r.dantoc, r.dantoc),
        "quoctich": QUOC_TICH.get(r.quoctich, r.quoctich),
        "noisinh": r.noisinh_diachichitiet,
        "quequan": r.quequan_diachichitiet,
        "noiohiennay": r.noiohiennay_diachichitiet,
        "hotencha": r.hotencha or "",
        "hotenme": r.hotenme or "",
        "hotennguoigiamho": r.hotennguoigiamho or "",
        "sodinhdanh": r.sodinhdanh,
        "mahocsinh": r.mahocsinh,
        "sosodangbo": r.sosodangbo or "",
        "doituongchinhsach": r.doituongchinhsach or "",
        "khuyet_tat": r.cokhuyettatkhongdanhgia,
        "quatrinhhoctap": [
            {
                "namhoc": q.namhoc,
                "tenlop": q.tenlop,
                "tentruong": q.tentruong,
                "tentinh": q.tentinh,
                "ngaychuyenden": _date_vn(q.ngaytrangthaichuyenden),
            }
            for q in r.quatrinhhoctap
        ],
        "tenlop": r.tenlop,
        "chieucao": _number(r.chieucao, "cm"),
        "cannang": _number(r.cannang, "kg"),
        "nghicophep": _number(r.nghicophep),
        "nghikhongphep": _number(r.nghikhongphep),
        "monhoc": [
            {
                "ten": b.tenmonhoc,
                "muc": SUBJECT_LEVEL_NAMES.get(b.mucdatduoc or "", b.mucdatduoc or ""),
                "diem": b.diemkiemtradinhky or "",
                "nhanxet": b.nhanxet or "",
            }
            for b in r.dsbangdiem
        ],
        "phamchat": _criteria(r, "pham_chat"),
        "nxetphamchat": r.nxetphamchat or "",
        "nanglucchung": _criteria(r, "nang_luc_chung"),
        "nxetnanglucchung": r.nxetnanglucchung,
        "nanglucdacthu": _criteria(r, "nang_luc_dac_thu"),
        "nxetnanglucdacthu": r.nxetnanglucdacthu,
        "xeploai": XEP_LOAI_NAMES[r.xeploai] if r.xeploai else "",
        "bosung": bool(r.danhgiabosung),
        "khenthuong": [k for k in (r.ndungkhenthuong, r.ndungkhenthuongdotxuat) if k],
        "hoanthanh": _completion(r),
        "nxetgvcn": r.nxetgvcn,
        "dongngay": date_line(r.diadanhphathanh, r.ngaykyphathanh),
        "chucvu_lines": _title_lines(r.chucvugiamhieu),
        "tengiamhieu": r.tengiamhieu,
        "tengvcn": r.tengvcn,
    }


def _pdf_timestamp(r: RecordData) -> dt.datetime:
    """The PDF's creation date: the record's date of issue, so that the same XML
    always gives the same PDF bytes (files are content-addressed in the store)."""
    d = r.ngaykyphathanh
    return dt.datetime(d.year, d.month, d.day, tzinfo=VN_TZ)


# ------------------------------------------------------------------ PDF helpers


def extract_record_xml(pdf: bytes | PdfFileReader) -> bytes:
    """The record XML attached to a printable copy, byte for byte.

    ``pdf`` may be a reader already open on the copy's bytes (a signer that goes on to
    extend the same PDF parses it once)."""
    try:
        reader = (
            pdf if isinstance(pdf, PdfFileReader) else PdfFileReader(BytesIO(pdf), strict=False)
        )
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
        rec = parse_record_xml(xml)
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
        dates = []
        for source, ma_tra_cuu, url in records:
            xml = extract_record_xml(source) if source[:5] == b"%PDF-" else source
            rec = parse_record_xml(xml)
            dates.append(_pdf_timestamp(rec))
            if not ma_tra_cuu or not url:
                raise RecordError(
                    f"Học bạ {rec.madinhdanhhocba} chưa có mã tra cứu hoặc địa chỉ "
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
            timestamp=max(dates),
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
