"""What one record holds: frozen values named exactly as the national catalogue.

``RecordData`` declares its fields in the order of ``hocbaso/record/xsd/hocba-1.0.xsd`` (which
follows the catalogue table ``thongtinsohocbasotieuhoc``), so writing and reading
the XML walk the dataclass instead of repeating a list of ~90 names; a test holds
the two orders together. ``SOURCE`` says where each element's value comes from,
for error messages and for ``hocbaso/record/xsd/README.md``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, fields
from typing import Final

from hocbaso.model import XepLoai

NS: Final = "urn:hocbaso:hocba:1"
DS_NS: Final = "http://www.w3.org/2000/09/xmldsig#"
XSD_VERSION: Final = "1.0"
ROOT_ELEMENT: Final = "hocba"
DATA_ELEMENT: Final = "thongtinsohocbasotieuhoc"
DATA_ID: Final = "hocba-du-lieu"
SIGNATURES_ELEMENT: Final = "chuky"


@dataclass(frozen=True, slots=True, kw_only=True)
class QuaTrinhHocTap:
    """One row of the learning history (sub-table ``quatrinhhoctap``)."""

    namhoc: str
    tenlop: str
    tentruong: str
    tentinh: str
    ngaytrangthaichuyenden: dt.date | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class BangDiem:
    """One subject or activity (sub-table ``dsbangdiem``), plus the paper form's comment."""

    mamonhoc: str
    tenmonhoc: str
    mucdatduoc: str | None = None  # T, H, C or M
    diemkiemtradinhky: str | None = None  # "0".."10" or "M"
    nhanxet: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class NhanXetTieuChi:
    """The comment on one quality or competency (extension ``dsnhanxettieuchi``)."""

    matieuchi: str  # the catalogue element of the criterion, e.g. "phamchatyeunuoc"
    nhanxet: str


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordData:
    """Everything one record (student x school year) says, in the XSD's order.

    Booleans are the catalogue's 0/1 fields, dates its date(10) fields; ``None``
    (or an empty tuple) means the optional element is absent.
    """

    trangthaithongtinhocba: str = "1"
    trichluc: bool = False
    tenhuyen: str | None = None
    phienbanthongtinhocba: str
    thongtu: str
    madinhdanhhocba: str
    namhoc: str
    masogd: str
    tensogd: str
    matruong: str
    tentruong: str
    thongtintruong_diachi_tenxa: str
    thongtintruong_diachi_tentinh: str
    thongtintruong_diachi_maxa: str | None = None
    thongtintruong_diachi_matinh: str
    macaphoc: str
    sosodangbo: str | None = None
    hovaten: str
    sodinhdanh: str
    mahocsinh: str
    gioitinh: str
    ngaythangnamsinh: dt.date | None = None
    thangnamsinh: str | None = None
    namsinh: str | None = None
    cannang: float | None = None
    chieucao: float | None = None
    nghicophep: float
    nghikhongphep: float
    noisinh_diachichitiet: str
    noisinh_maxa: str | None = None
    noisinh_matinh: str | None = None
    quequan_diachichitiet: str
    quequan_maxa: str | None = None
    quequan_matinh: str | None = None
    noiohiennay_diachichitiet: str
    noiohiennay_maxa: str | None = None
    noiohiennay_matinh: str | None = None
    dantoc: str
    quoctich: str
    doituongchinhsach: str | None = None
    cokhuyettatkhongdanhgia: bool = False
    hotencha: str | None = None
    hotenme: str | None = None
    hotennguoigiamho: str | None = None
    tengiamhieu: str
    soddcngiamhieu: str
    diadanhphathanh: str
    ngaykyphathanh: dt.date
    ngaytao: dt.date
    chucvugiamhieu: str
    tengvcn: str
    soddcngvcn: str
    makhoi: str
    tenlop: str
    xeploai: XepLoai | None = None
    duoclenlop: bool
    ndunghoanthanh: str | None = None
    dahthanhctrinhlophoc: bool
    dahthanhctrinhtieuhoc: bool
    ndungkhenthuong: str | None = None
    ndungkhenthuongdotxuat: str | None = None
    nxetgvcn: str
    nangluctuhoc: str | None = None
    nanglucgiaotiep: str | None = None
    nanglucgiaiquyet: str | None = None
    nanglucngonngu: str | None = None
    nangluctinhtoan: str | None = None
    nangluckhoahoc: str | None = None
    nangluccongnghe: str | None = None
    nangluctinhoc: str | None = None
    nanglucthammi: str | None = None
    nanglucthechat: str | None = None
    phamchatyeunuoc: str | None = None
    phamchatnhanai: str | None = None
    phamchatchamchi: str | None = None
    phamchattrungthuc: str | None = None
    phamchattrachnhiem: str | None = None
    nxetphamchat: str | None = None
    nxetnanglucchung: str
    nxetnanglucdacthu: str
    quatrinhhoctap: tuple[QuaTrinhHocTap, ...]
    dsbangdiem: tuple[BangDiem, ...]
    # extensions beyond the catalogue
    dsnhanxettieuchi: tuple[NhanXetTieuChi, ...] = ()
    danhgiabosung: bool | None = None
    madinhdanhhocbathaythe: str | None = None


#: Elements that hold a list of rows rather than one value.
LIST_ELEMENTS: Final = frozenset({"quatrinhhoctap", "dsbangdiem", "dsnhanxettieuchi"})
#: The children of the data element, in the XSD's order.
ELEMENT_ORDER: Final[tuple[str, ...]] = tuple(f.name for f in fields(RecordData))

#: Where each element's value comes from (table.column of the import, school.toml
#: section.key, or the rule that computes it).
SOURCE: Final[dict[str, str]] = {
    "trangthaithongtinhocba": "hệ thống: 1 khi phát hành, 2 khi thu hồi",
    "trichluc": "hệ thống: 0 (học bạ số lập từ dữ liệu, không trích lục từ học bạ giấy)",
    "tenhuyen": "school.toml [truong] ten_huyen",
    "phienbanthongtinhocba": "hệ thống: phiên bản học bạ (1, rồi tăng khi phát hành lại)",
    "thongtu": "hệ thống: 27 (Thông tư 27/2020/TT-BGDĐT)",
    "madinhdanhhocba": "hệ thống: UUID của học bạ",
    "namhoc": "school.toml [nam_hoc] nam_hoc",
    "masogd": "school.toml [truong] ma_so_gd",
    "tensogd": "school.toml [truong] ten_so_gd",
    "matruong": "school.toml [truong] ma_truong",
    "tentruong": "school.toml [truong] ten_truong",
    "thongtintruong_diachi_tenxa": "school.toml [truong] ten_xa",
    "thongtintruong_diachi_tentinh": "school.toml [truong] ten_tinh",
    "thongtintruong_diachi_maxa": "school.toml [truong] ma_xa",
    "thongtintruong_diachi_matinh": "school.toml [truong] ma_tinh",
    "macaphoc": "hệ thống: mã cấp tiểu học",
    "sosodangbo": "bảng hoc_sinh, cột so_dang_bo",
    "hovaten": "bảng hoc_sinh, cột ho_ten",
    "sodinhdanh": "bảng hoc_sinh, cột so_dinh_danh",
    "mahocsinh": "bảng hoc_sinh, cột ma_hoc_sinh",
    "gioitinh": "bảng hoc_sinh, cột gioi_tinh",
    "ngaythangnamsinh": "bảng hoc_sinh, cột ngay_sinh",
    "thangnamsinh": "không dùng (ngày sinh đầy đủ)",
    "namsinh": "không dùng (ngày sinh đầy đủ)",
    "cannang": "bảng hoc_sinh, cột can_nang",
    "chieucao": "bảng hoc_sinh, cột chieu_cao",
    "nghicophep": "bảng hoc_sinh, cột nghi_co_phep",
    "nghikhongphep": "bảng hoc_sinh, cột nghi_khong_phep",
    "noisinh_diachichitiet": "bảng hoc_sinh, cột noi_sinh",
    "quequan_diachichitiet": "bảng hoc_sinh, cột que_quan",
    "noiohiennay_diachichitiet": "bảng hoc_sinh, cột noi_o",
    "dantoc": "bảng hoc_sinh, cột dan_toc (tên -> mã QCVN 109)",
    "quoctich": "bảng hoc_sinh, cột quoc_tich (tên -> mã QCVN 109)",
    "doituongchinhsach": "bảng hoc_sinh, cột doi_tuong_chinh_sach",
    "cokhuyettatkhongdanhgia": "bảng hoc_sinh, cột khuyet_tat_khong_danh_gia",
    "hotencha": "bảng hoc_sinh, cột ho_ten_cha",
    "hotenme": "bảng hoc_sinh, cột ho_ten_me",
    "hotennguoigiamho": "bảng hoc_sinh, cột ho_ten_nguoi_giam_ho",
    "tengiamhieu": "bảng giao_vien, cột ho_ten của người ký (school.toml [ky] hieu_truong)",
    "soddcngiamhieu": "bảng giao_vien, cột so_dinh_danh của người ký",
    "diadanhphathanh": "school.toml [truong] dia_danh_phat_hanh",
    "ngaykyphathanh": "school.toml [nam_hoc] ngay_ky_phat_hanh",
    "ngaytao": "hệ thống: ngày chốt dữ liệu",
    "chucvugiamhieu": "school.toml [ky] chuc_vu_ky",
    "tengvcn": "bảng giao_vien, cột ho_ten của GVCN (bảng lop cột ma_gvcn, hoặc [gvcn])",
    "soddcngvcn": "bảng giao_vien, cột so_dinh_danh của GVCN",
    "makhoi": "bảng lop, cột khoi",
    "tenlop": "bảng lop, cột ma_lop",
    "xeploai": "tính theo Thông tư 27 (Điều 9) từ ket_qua_mon và pham_chat_nang_luc",
    "duoclenlop": "tính theo Thông tư 27; quyết định của hiệu trưởng ở bảng tong_hop, cột len_lop",
    "ndunghoanthanh": "tính theo Thông tư 27 (Điều 11)",
    "dahthanhctrinhlophoc": "tính theo Thông tư 27 (Điều 11)",
    "dahthanhctrinhtieuhoc": "tính theo Thông tư 27 (Điều 11), lớp 5",
    "ndungkhenthuong": "bảng tong_hop, cột khen_thuong",
    "ndungkhenthuongdotxuat": "bảng tong_hop, cột khen_thuong_dot_xuat",
    "nxetgvcn": "bảng tong_hop, cột nhan_xet",
    "nxetphamchat": "bảng tong_hop, cột nhan_xet_pham_chat",
    "nxetnanglucchung": "bảng tong_hop, cột nhan_xet_nang_luc_chung "
    "(hoặc các nhận xét năng lực chung ở pham_chat_nang_luc)",
    "nxetnanglucdacthu": "bảng tong_hop, cột nhan_xet_nang_luc_dac_thu "
    "(hoặc các nhận xét năng lực đặc thù ở pham_chat_nang_luc)",
    "quatrinhhoctap": "năm học hiện tại: lớp, trường, tỉnh (school.toml)",
    "dsbangdiem": "bảng ket_qua_mon",
    "mamonhoc": "bảng ket_qua_mon, cột mon_hoc",
    "tenmonhoc": "bảng ket_qua_mon, cột mon_hoc (tên môn)",
    "mucdatduoc": "bảng ket_qua_mon, cột muc_dat",
    "diemkiemtradinhky": "bảng ket_qua_mon, cột diem_ktdk",
    "nhanxet": "bảng ket_qua_mon hoặc pham_chat_nang_luc, cột nhan_xet",
    "dsnhanxettieuchi": "bảng pham_chat_nang_luc, cột nhan_xet",
    "danhgiabosung": "bảng tong_hop, cột danh_gia_bo_sung",
    "madinhdanhhocbathaythe": "hệ thống: học bạ bị thu hồi mà phiên bản này thay thế",
}
for _f in ELEMENT_ORDER:
    if _f.endswith(("_maxa", "_matinh")) and _f not in SOURCE:
        SOURCE[_f] = "chưa có trong định dạng nhập (để trống)"
for _c in ("nangluc", "phamchat"):
    for _f in ELEMENT_ORDER:
        if _f.startswith(_c) and _f not in SOURCE:
            SOURCE[_f] = "bảng pham_chat_nang_luc, cột muc_dat"
