"""The printable copy (bản thể hiện) and the paper copy (bản giấy).

Real Typst compiles, real PDF tools (poppler, qpdf, zbarimg) read the output.
"""

from __future__ import annotations

import datetime as dt
import subprocess
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from hocbaso import record
from hocbaso.errors import RecordError
from hocbaso.model import CRITERIA, XepLoai
from hocbaso.record import (
    BangDiem,
    NhanXetTieuChi,
    QuaTrinhHocTap,
    RecordData,
    parse_record_xml,
    record_xml,
    validate_record_xml,
)
from hocbaso.render import (
    RecordRenderer,
    date_line,
    extract_record_xml,
    record_view,
    render_paper_copy,
    render_record_pdf,
)

NS = record.NS

SUBJECTS_GRADE_5 = [
    ("TV", "Tiếng Việt", "T", "9", "Đọc diễn cảm, viết đúng chính tả, câu văn có hình ảnh."),
    ("TOA", "Toán", "T", "10", "Tính nhanh, giải toán có lời văn chính xác."),
    ("NN1", "Ngoại ngữ 1", "H", "8", "Nghe hiểu tốt, cần luyện thêm phát âm."),
    ("LDL", "Lịch sử và Địa lí", "T", "9", "Nhớ sự kiện, đọc bản đồ thành thạo."),
    ("KH", "Khoa học", "T", "9", "Biết làm thí nghiệm đơn giản."),
    ("TIN", "Tin học", "T", "9", "Sử dụng máy tính thành thạo."),
    ("CN", "Công nghệ", "T", "8", "Lắp ghép mô hình đúng quy trình."),
    ("DD", "Đạo đức", "T", None, "Lễ phép, biết giúp đỡ bạn bè."),
    ("GTC", "Giáo dục thể chất", "T", None, "Tích cực tập luyện."),
    ("AN", "Âm nhạc", "H", None, "Hát đúng giai điệu."),
    ("MT", "Mĩ thuật", "T", None, "Vẽ có sáng tạo, phối màu đẹp."),
    ("HTN", "Hoạt động trải nghiệm", "T", None, "Tham gia đầy đủ, chủ động."),
]
CRITERIA_ELEMENTS = [c.element for c in CRITERIA]
TRUONG = "Trường Tiểu học Nguyễn Trãi"
BASE = RecordData(
    phienbanthongtinhocba="1",
    thongtu="27",
    madinhdanhhocba="00000000-0000-4000-8000-000000000000",
    namhoc="2025-2026",
    masogd="01",
    tensogd="Sở Giáo dục và Đào tạo Hà Nội",
    matruong="01234567",
    tentruong=TRUONG,
    thongtintruong_diachi_tenxa="Phường Hoàn Kiếm",
    thongtintruong_diachi_tentinh="Thành phố Hà Nội",
    thongtintruong_diachi_matinh="01",
    macaphoc="01",
    sosodangbo="125/2021",
    hovaten="Nguyễn Thị Thuỳ Dương",
    sodinhdanh="001316012345",
    mahocsinh="0123456789",
    gioitinh="2",
    ngaythangnamsinh=dt.date(2015, 2, 7),
    cannang=32.5,
    chieucao=138.0,
    nghicophep=2,
    nghikhongphep=0,
    noisinh_diachichitiet="Bệnh viện Phụ sản Hà Nội, phường Láng, thành phố Hà Nội",
    quequan_diachichitiet="Xã Phù Đổng, thành phố Hà Nội",
    noiohiennay_diachichitiet="Số 12 ngõ 34 phố Hàng Bạc, phường Hoàn Kiếm, thành phố Hà Nội",
    dantoc="05",
    quoctich="VN",
    hotencha="Nguyễn Văn Đức",
    hotenme="Trần Thị Hường",
    tengiamhieu="Phạm Quốc Hưng",
    soddcngiamhieu="001075000111",
    diadanhphathanh="Hà Nội",
    ngaykyphathanh=dt.date(2026, 5, 12),
    ngaytao=dt.date(2026, 5, 10),
    chucvugiamhieu="HIỆU TRƯỞNG",
    tengvcn="Lê Thị Ánh Tuyết",
    soddcngvcn="001180000222",
    makhoi="5",
    tenlop="5A",
    xeploai=XepLoai.HTT,
    duoclenlop=True,
    ndunghoanthanh="Hoàn thành chương trình tiểu học.",
    dahthanhctrinhlophoc=True,
    dahthanhctrinhtieuhoc=True,
    ndungkhenthuong="Học sinh Tiêu biểu hoàn thành tốt trong học tập và rèn luyện",
    nxetgvcn="Em chăm ngoan, học tập tiến bộ rõ rệt; tích cực tham gia phong trào của lớp.",
    nxetphamchat="Yêu quê hương, kính trọng thầy cô, trung thực trong học tập.",
    nxetnanglucchung="Tự giác học bài, biết hợp tác khi làm việc nhóm.",
    nxetnanglucdacthu="Diễn đạt mạch lạc, tính toán nhanh, có năng khiếu thẩm mĩ.",
    **{name: "T" for name in CRITERIA_ELEMENTS if name != "phamchattrachnhiem"},
    phamchattrachnhiem="Đ",
    quatrinhhoctap=tuple(
        QuaTrinhHocTap(
            namhoc=f"{2021 + k}-{2022 + k}",
            tenlop=f"{k + 1}A",
            tentruong=TRUONG,
            tentinh="Thành phố Hà Nội",
            ngaytrangthaichuyenden=dt.date(2023, 9, 5) if k == 2 else None,
        )
        for k in range(5)
    ),
    dsbangdiem=tuple(
        BangDiem(mamonhoc=c, tenmonhoc=n, mucdatduoc=m, diemkiemtradinhky=d, nhanxet=x)
        for c, n, m, d, x in SUBJECTS_GRADE_5
    ),
)


def make_record(**over: Any) -> RecordData:
    """A grade-5 record with a fresh id; ``over`` replaces fields."""
    return replace(BASE, madinhdanhhocba=str(uuid.uuid4()), **over)


def make_record_xml(**over: Any) -> bytes:
    """The record's XML as hocbaso.record writes it."""
    return record_xml(make_record(**over))


def run(*cmd: str | Path, stdin: bytes | None = None) -> str:
    done = subprocess.run([str(c) for c in cmd], input=stdin, capture_output=True, check=True)
    return done.stdout.decode("utf-8")


@pytest.fixture(scope="module")
def renderer() -> RecordRenderer:
    return RecordRenderer()


@pytest.fixture(scope="module")
def sample() -> tuple[bytes, bytes]:
    xml = make_record_xml()
    return xml, RecordRenderer().render(xml)


def test_attached_xml_comes_back_byte_identical(
    sample: tuple[bytes, bytes], tmp_path: Path
) -> None:
    xml, pdf = sample
    (tmp_path / "r.pdf").write_bytes(pdf)
    assert "hocba.xml" in run("pdfdetach", "-list", tmp_path / "r.pdf")
    run("pdfdetach", "-save", "1", "-o", tmp_path / "out.xml", tmp_path / "r.pdf")
    assert (tmp_path / "out.xml").read_bytes() == xml
    assert extract_record_xml(pdf) == xml


def test_text_has_name_and_headings_with_diacritics(sample: tuple[bytes, bytes]) -> None:
    xml, pdf = sample
    text = " ".join(run("pdftotext", "-layout", "-", "-", stdin=pdf).split())
    rec = parse_record_xml(xml)
    for expected in (
        rec.hovaten,
        rec.hovaten.upper(),
        rec.tentruong,
        rec.hotenme,
        rec.tengvcn,
        "Dân tộc: Khơ Me",
        "Quốc tịch: Việt Nam",
        "Chiều cao: 138 cm",
        "Cân nặng: 32,5 kg",
        "05/09/2023",
        "HỌC BẠ",
        "QUÁ TRÌNH HỌC TẬP",
        "1. Các môn học và hoạt động giáo dục",
        "2. Những phẩm chất chủ yếu",
        "3. Những năng lực cốt lõi",
        "3.1. Những năng lực chung",
        "3.2. Những năng lực đặc thù",
        "4. Đánh giá kết quả giáo dục: Hoàn thành tốt",
        "5. Khen thưởng",
        "6. Hoàn thành chương trình lớp học/chương trình tiểu học",
        "Hoàn thành chương trình tiểu học.",
        "Lịch sử và Địa lí",
        "Giải quyết vấn đề và sáng tạo",
        "Hà Nội, ngày 12 tháng 5 năm 2026",
        "GIÁO VIÊN CHỦ NHIỆM",
        "HIỆU TRƯỞNG",
        "Ngày, tháng, năm sinh: 07/02/2015",
    ):
        assert expected in text, expected


def test_every_page_has_record_id_and_page_number(sample: tuple[bytes, bytes]) -> None:
    xml, pdf = sample
    rec_id = parse_record_xml(xml).madinhdanhhocba
    pages = run("pdftotext", "-", "-", stdin=pdf).split("\f")[:-1]
    assert len(pages) == 4
    for n, page in enumerate(pages, start=1):
        assert rec_id in page
        assert f"Trang {n}/4" in page


def test_pdfa3_metadata_and_qpdf_clean(sample: tuple[bytes, bytes], tmp_path: Path) -> None:
    _, pdf = sample
    (tmp_path / "r.pdf").write_bytes(pdf)
    meta = run("pdfinfo", "-meta", tmp_path / "r.pdf")
    assert "<pdfaid:part>3</pdfaid:part>" in meta
    assert "<pdfaid:conformance>B</pdfaid:conformance>" in meta
    assert "No syntax or stream encoding errors" in run("qpdf", "--check", tmp_path / "r.pdf")


def test_same_xml_same_pdf_bytes(renderer: RecordRenderer, sample: tuple[bytes, bytes]) -> None:
    xml, pdf = sample
    assert renderer.render(xml) == pdf


def test_render_many_and_module_function_keep_order(renderer: RecordRenderer) -> None:
    xmls = [make_record_xml(hovaten=name) for name in ("Đỗ Minh Khôi", "Vũ Thị Ngọc Ánh")]
    pdfs = renderer.render_many(xmls)
    assert [extract_record_xml(p) for p in pdfs] == xmls
    assert extract_record_xml(render_record_pdf(xmls[1])) == xmls[1]


def test_view_maps_codes_to_printed_words() -> None:
    view = record_view(
        make_record(
            gioitinh="1",
            xeploai=XepLoai.HTXS,
            ngaythangnamsinh=None,
            thangnamsinh="2015-09",
            chucvugiamhieu="KT. HIỆU TRƯỞNG / PHÓ HIỆU TRƯỞNG",
            nanglucthammi="C",
            trangthaithongtinhocba="2",
            cannang=30.0,
            dantoc="08",
            quoctich="LA",
        )
    )
    assert view["gioitinh"] == "Nam"
    assert view["xeploai"] == "Hoàn thành xuất sắc"
    assert view["ngaysinh"] == "09/2015"
    assert view["chucvu_lines"] == ["KT. HIỆU TRƯỞNG", "PHÓ HIỆU TRƯỞNG"]
    assert {"ten": "Thẩm mĩ", "muc": "Cần cố gắng", "nhanxet": ""} in view["nanglucdacthu"]
    assert {"ten": "Trách nhiệm", "muc": "Đạt", "nhanxet": ""} in view["phamchat"]
    assert view["monhoc"][2] == {
        "ten": "Ngoại ngữ 1",
        "muc": "Hoàn thành",
        "diem": "8",
        "nhanxet": "Nghe hiểu tốt, cần luyện thêm phát âm.",
    }
    assert view["thu_hoi"] is True
    assert view["cannang"] == "30 kg"
    assert (view["dantoc"], view["quoctich"]) == ("Mông", "Lào")
    assert [q["tenlop"] for q in view["quatrinhhoctap"]] == ["1A", "2A", "3A", "4A", "5A"]


def test_unassessed_group_prints_blank_rows_and_flags_drive_section_6() -> None:
    view = record_view(
        make_record(
            cokhuyettatkhongdanhgia=True,
            xeploai=None,
            ndunghoanthanh=None,
            dahthanhctrinhtieuhoc=False,
            dahthanhctrinhlophoc=False,
            duoclenlop=True,
            makhoi="3",
            **dict.fromkeys(CRITERIA_ELEMENTS),
        )
    )
    assert [r["muc"] for r in view["nanglucdacthu"]] == [""] * 7
    assert view["hoanthanh"] == ["Chưa hoàn thành chương trình lớp học.", "Được lên lớp."]
    assert view["xeploai"] == ""
    assert view["khuyet_tat"] is True
    # Grade 5 speaks of the primary programme, never of promotion (TT27).
    five = record_view(
        make_record(
            xeploai=None,
            ndunghoanthanh=None,
            dahthanhctrinhtieuhoc=False,
            dahthanhctrinhlophoc=False,
            duoclenlop=True,
            makhoi="5",
        )
    )
    assert five["hoanthanh"] == ["Chưa hoàn thành chương trình tiểu học."]


def test_grade_1_leaves_out_criteria_that_do_not_apply() -> None:
    view = record_view(make_record(makhoi="1", nangluccongnghe=None, nangluctinhoc=None))
    names = [r["ten"] for r in view["nanglucdacthu"]]
    assert names == ["Ngôn ngữ", "Tính toán", "Khoa học", "Thẩm mĩ", "Thể chất"]


@pytest.mark.parametrize(
    ("place", "day", "line"),
    [
        ("Hà Nội", dt.date(2026, 5, 12), "Hà Nội, ngày 12 tháng 5 năm 2026"),
        ("Huế", dt.date(2026, 2, 3), "Huế, ngày 03 tháng 02 năm 2026"),
        ("Cà Mau", dt.date(2025, 12, 31), "Cà Mau, ngày 31 tháng 12 năm 2025"),
        ("Sơn La", None, "Sơn La, ngày .... tháng .... năm ......"),
    ],
    ids=["may", "february-leading-zeros", "december", "no-date"],
)
def test_date_line(place: str, day: dt.date | None, line: str) -> None:
    assert date_line(place, day) == line


@pytest.mark.parametrize(
    "bad",
    [b"not xml at all", b"<hocba xmlns='urn:other'/>", "<a>Ư</a>".encode("utf-16")],
    ids=["not-xml", "wrong-namespace", "utf16"],
)
def test_bad_input_raises_record_error(renderer: RecordRenderer, bad: bytes) -> None:
    with pytest.raises(RecordError) as err:
        renderer.render(bad)
    assert err.value.hint


def test_pdf_without_attachment_is_refused(renderer: RecordRenderer) -> None:
    paper = renderer.render_paper(
        [(make_record_xml(), "ABCD1234", "https://x.vn/tra-cuu/ABCD1234")]
    )
    with pytest.raises(RecordError, match=r"hocba\.xml"):
        extract_record_xml(paper)


def test_paper_copy_requires_records_and_codes(renderer: RecordRenderer) -> None:
    with pytest.raises(RecordError, match="Không có học bạ"):
        renderer.render_paper([])
    with pytest.raises(RecordError, match="mã tra cứu"):
        renderer.render_paper([(make_record_xml(), "", "https://x.vn/tra-cuu/")])


def test_paper_copy_qr_on_every_page_decodes_to_lookup_url(
    sample: tuple[bytes, bytes], tmp_path: Path
) -> None:
    _, pdf_a = sample
    xml_b = make_record_xml(hovaten="Hoàng Văn Lượng", tenlop="5B")
    base = "http://tra-cuu.invalid/tra-cuu/"  # text only: nothing listens
    items = [(pdf_a, "HB7Q-2K9M", base + "HB7Q-2K9M"), (xml_b, "HB3X-8TRW", base + "HB3X-8TRW")]
    paper = render_paper_copy(items)
    (tmp_path / "paper.pdf").write_bytes(paper)
    pages = run("pdftotext", tmp_path / "paper.pdf", "-").split("\f")[:-1]
    assert len(pages) == 8
    # Only the bottom band of each A4 page (1169 px high at 100 dpi): the QR must be there.
    run(
        "pdftoppm",
        "-r",
        "100",
        "-gray",
        "-y",
        "980",
        "-H",
        "189",
        "-W",
        "827",
        "-png",
        tmp_path / "paper.pdf",
        tmp_path / "p",
    )
    pngs = sorted(tmp_path.glob("p-*.png"))
    assert len(pngs) == 8
    for n, png in enumerate(pngs):
        code = items[n // 4][1]
        decoded = run("zbarimg", "--quiet", "--raw", png).strip()
        assert decoded == base + code
        assert f"Mã tra cứu: {code}" in pages[n]
        assert f"Trang {n % 4 + 1}/4" in pages[n]
    assert "HOÀNG VĂN LƯỢNG" in pages[4]
    assert "Hoàng Văn Lượng" in pages[6]


def test_signed_record_renders_and_comes_back_with_its_signatures(
    renderer: RecordRenderer,
) -> None:
    root = etree.fromstring(make_record_xml())
    chuky = root.find(f"{{{NS}}}chuky")
    assert chuky is not None
    ds = record.DS_NS
    for sig_id in ("chuky-gvcn", "chuky-ht"):
        sig = etree.SubElement(chuky, f"{{{ds}}}Signature", nsmap={"ds": ds}, Id=sig_id)
        etree.SubElement(sig, f"{{{ds}}}SignatureValue").text = "AAAA"
    signed = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    pdf = renderer.render(signed)
    assert extract_record_xml(pdf) == signed
    assert "AAAA" not in run("pdftotext", "-", "-", stdin=pdf)


def test_long_texts_flow_onto_more_pages_with_consistent_numbers(
    renderer: RecordRenderer,
) -> None:
    long = ("Em chăm chỉ, lễ phép, tích cực tham gia các hoạt động của lớp; " * 40)[:2000]
    xml = make_record_xml(
        nxetgvcn=long,
        nxetphamchat=long[:500],
        nxetnanglucchung=long[:500],
        nxetnanglucdacthu=long[:500],
        ndungkhenthuongdotxuat=long[:1000],
        hovaten="Nguyễn Hoàng Thị Phương Thảo Uyên Vy Ngọc Diễm Khánh Linh Bảo Trâm",
    )
    pages = run("pdftotext", "-", "-", stdin=renderer.render(xml)).split("\f")[:-1]
    total = len(pages)
    assert total > 4
    for n, page in enumerate(pages, start=1):
        assert f"Trang {n}/{total}" in page
    assert "GIÁO VIÊN CHỦ NHIỆM" in pages[-1]


def test_renderer_is_safe_to_share_between_threads(renderer: RecordRenderer) -> None:
    xmls = [make_record_xml(hovaten=f"Lý Thị Hoa {i}") for i in range(4)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        pdfs = list(pool.map(renderer.render, xmls))
    assert [extract_record_xml(p) for p in pdfs] == xmls


def test_comment_per_criterion_and_extensions_are_printed(renderer: RecordRenderer) -> None:
    replaced = str(uuid.uuid4())
    xml = make_record_xml(
        nxetphamchat=None,
        dsnhanxettieuchi=(
            NhanXetTieuChi(
                matieuchi="phamchatyeunuoc", nhanxet="Kính trọng người có công với quê hương."
            ),
            NhanXetTieuChi(matieuchi="nanglucthechat", nhanxet="Bơi được 25 mét."),
        ),
        danhgiabosung=True,
        madinhdanhhocbathaythe=replaced,
    )
    validate_record_xml(xml)
    view = record_view(parse_record_xml(xml))
    assert view["phamchat"][0]["nhanxet"] == "Kính trọng người có công với quê hương."
    assert view["phamchat"][1]["nhanxet"] == ""
    text = " ".join(run("pdftotext", "-", "-", stdin=renderer.render(xml)).split())
    assert "Kính trọng người có công với quê hương." in text
    assert "Bơi được 25 mét." in text
    assert "Nhận xét chung: Diễn đạt mạch lạc" in text
    assert "Hoàn thành tốt (sau đánh giá bổ sung)" in text
    assert f"Thay thế học bạ đã thu hồi: {replaced}" in text


def test_sample_record_is_schema_valid(sample: tuple[bytes, bytes]) -> None:
    validate_record_xml(sample[0])


def test_typst_markup_in_data_is_printed_verbatim(renderer: RecordRenderer) -> None:
    tricky = "Em đạt *9/10* #điểm $x$ <nhãn> @ref _gạch_ = tiêu đề \\ // không phải chú thích"
    pdf = renderer.render(make_record_xml(nxetgvcn=tricky))
    assert tricky in " ".join(run("pdftotext", "-", "-", stdin=pdf).split())
