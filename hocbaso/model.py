"""Codes of the primary record: subjects, levels, qualities and competencies.

One module holds every code list so that a change of the national code lists
(which are not public yet) is a change here only. Which subject applies to which
grade, and which has a periodic test, is decided by ``hocbaso.tt27``; this
module only names things.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

GRADES: tuple[int, ...] = (1, 2, 3, 4, 5)
MA_CAP_HOC_TIEU_HOC = "01"  # school-level code of primary (catalogue code list not public)
THONG_TU = "27"


@dataclass(frozen=True, slots=True)
class Subject:
    """A subject or educational activity as one row of the record's subject table."""

    code: str  # the import code, e.g. "TOAN"
    ma_mon_hoc: str  # the record's `mamonhoc`, at most 3 characters (catalogue varchar(3))
    ten: str  # the name printed in the record


SUBJECTS: tuple[Subject, ...] = (
    Subject("TV", "TV", "Tiếng Việt"),
    Subject("TOAN", "TOA", "Toán"),
    Subject("NN1", "NN1", "Ngoại ngữ 1"),
    Subject("DD", "DD", "Đạo đức"),
    Subject("TNXH", "TXH", "Tự nhiên và Xã hội"),
    Subject("KH", "KH", "Khoa học"),
    Subject("LSDL", "LDL", "Lịch sử và Địa lí"),
    Subject("TIN", "TIN", "Tin học"),
    Subject("CN", "CN", "Công nghệ"),
    Subject("GDTC", "GTC", "Giáo dục thể chất"),
    Subject("AN", "AN", "Âm nhạc"),
    Subject("MT", "MT", "Mĩ thuật"),
    Subject("HDTN", "HTN", "Hoạt động trải nghiệm"),
    Subject("TDT", "TDT", "Tiếng dân tộc thiểu số"),
)
SUBJECT_BY_CODE: dict[str, Subject] = {s.code: s for s in SUBJECTS}


class SubjectLevel(StrEnum):
    """Level of a subject or activity (mucdatduoc)."""

    HOAN_THANH_TOT = "T"
    HOAN_THANH = "H"
    CHUA_HOAN_THANH = "C"
    MIEN = "M"


SUBJECT_LEVEL_NAMES: dict[str, str] = {
    "T": "Hoàn thành tốt",
    "H": "Hoàn thành",
    "C": "Chưa hoàn thành",
    "M": "Miễn",
}


class CriterionLevel(StrEnum):
    """Level of a quality or competency."""

    TOT = "T"
    DAT = "Đ"
    CAN_CO_GANG = "C"


CRITERION_LEVEL_NAMES: dict[str, str] = {"T": "Tốt", "Đ": "Đạt", "C": "Cần cố gắng"}

CriterionGroup = Literal["pham_chat", "nang_luc_chung", "nang_luc_dac_thu"]


@dataclass(frozen=True, slots=True)
class Criterion:
    """A quality (phẩm chất) or competency (năng lực)."""

    code: str  # the import code, e.g. "YEU_NUOC"
    element: str  # the catalogue field name, e.g. "phamchatyeunuoc"
    ten: str
    group: CriterionGroup


CRITERIA: tuple[Criterion, ...] = (
    Criterion("YEU_NUOC", "phamchatyeunuoc", "Yêu nước", "pham_chat"),
    Criterion("NHAN_AI", "phamchatnhanai", "Nhân ái", "pham_chat"),
    Criterion("CHAM_CHI", "phamchatchamchi", "Chăm chỉ", "pham_chat"),
    Criterion("TRUNG_THUC", "phamchattrungthuc", "Trung thực", "pham_chat"),
    Criterion("TRACH_NHIEM", "phamchattrachnhiem", "Trách nhiệm", "pham_chat"),
    Criterion("TU_CHU_TU_HOC", "nangluctuhoc", "Tự chủ và tự học", "nang_luc_chung"),
    Criterion("GIAO_TIEP_HOP_TAC", "nanglucgiaotiep", "Giao tiếp và hợp tác", "nang_luc_chung"),
    Criterion(
        "GQVD_SANG_TAO", "nanglucgiaiquyet", "Giải quyết vấn đề và sáng tạo", "nang_luc_chung"
    ),
    Criterion("NGON_NGU", "nanglucngonngu", "Ngôn ngữ", "nang_luc_dac_thu"),
    Criterion("TINH_TOAN", "nangluctinhtoan", "Tính toán", "nang_luc_dac_thu"),
    Criterion("KHOA_HOC", "nangluckhoahoc", "Khoa học", "nang_luc_dac_thu"),
    Criterion("CONG_NGHE", "nangluccongnghe", "Công nghệ", "nang_luc_dac_thu"),
    Criterion("TIN_HOC", "nangluctinhoc", "Tin học", "nang_luc_dac_thu"),
    Criterion("THAM_MI", "nanglucthammi", "Thẩm mĩ", "nang_luc_dac_thu"),
    Criterion("THE_CHAT", "nanglucthechat", "Thể chất", "nang_luc_dac_thu"),
)
CRITERION_BY_CODE: dict[str, Criterion] = {c.code: c for c in CRITERIA}


class XepLoai(StrEnum):
    """Overall result at year end (Điều 9)."""

    HTXS = "HTXS"
    HTT = "HTT"
    HT = "HT"
    CHT = "CHT"


XEP_LOAI_NAMES: dict[str, str] = {
    "HTXS": "Hoàn thành xuất sắc",
    "HTT": "Hoàn thành tốt",
    "HT": "Hoàn thành",
    "CHT": "Chưa hoàn thành",
}

KHEN_THUONG_HTXS = "Học sinh Xuất sắc"
KHEN_THUONG_HTT = "Học sinh Tiêu biểu hoàn thành tốt trong học tập và rèn luyện"

# Sex codes of QCVN 109:2017 (gioitinh).
GIOI_TINH_CODES: dict[str, str] = {"Nam": "1", "Nữ": "2"}
GIOI_TINH_UNKNOWN = "0"


class TrangThai(StrEnum):
    """Record states (DESIGN.md). The string values are the public `trang_thai`."""

    DRAFT = "draft"
    LOCKED = "locked"
    SIGNED_GVCN = "signed_gvcn"
    SIGNED_HT = "signed_ht"
    SEALED = "sealed"
    SUBMITTED = "submitted"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    REVOKED = "revoked"
