"""Build the records of a batch (usually a class) from the school's frames.

Everything a record says comes from the typed ``SchoolData``, the computed TT27
``results`` and ``school.toml``; nothing is invented. A catalogue-required value
the data does not hold (hometown, current address, a comment) stops the batch
with one message that counts what is missing per column, so the school fixes its
source once instead of meeting the XSD's refusal record by record.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import Counter
from collections.abc import Mapping
from typing import Any

import polars as pl

from hocbaso import tt27
from hocbaso.codes import ma_dan_toc, ma_quoc_tich
from hocbaso.config import SchoolConfig
from hocbaso.dataset import SchoolData
from hocbaso.errors import ConfigurationError, RecordError
from hocbaso.model import (
    CRITERIA,
    CRITERION_BY_CODE,
    GIOI_TINH_CODES,
    GIOI_TINH_UNKNOWN,
    MA_CAP_HOC_TIEU_HOC,
    SUBJECT_BY_CODE,
    SUBJECTS,
    THONG_TU,
    XepLoai,
)
from hocbaso.record.data import BangDiem, NhanXetTieuChi, QuaTrinhHocTap, RecordData

_SUBJECT_RANK = {s.code: i for i, s in enumerate(SUBJECTS)}
_CRITERION_RANK = {c.code: i for i, c in enumerate(CRITERIA)}

#: Catalogue-required elements filled from optional import columns: (element, table.column).
_REQUIRED_FROM_DATA: tuple[tuple[str, str], ...] = (
    ("quequan_diachichitiet", "hoc_sinh.que_quan"),
    ("noiohiennay_diachichitiet", "hoc_sinh.noi_o"),
    ("noisinh_diachichitiet", "hoc_sinh.noi_sinh"),
    ("nxetgvcn", "tong_hop.nhan_xet"),
    ("nxetnanglucchung", "tong_hop.nhan_xet_nang_luc_chung"),
    ("nxetnanglucdacthu", "tong_hop.nhan_xet_nang_luc_dac_thu"),
)


def _teacher(giao_vien: pl.DataFrame, ma: str, role: str) -> dict[str, Any]:
    rows = giao_vien.filter(pl.col("ma_giao_vien") == ma)
    if rows.height == 0:
        raise ConfigurationError(
            f"Không tìm thấy {role} có mã giáo viên {ma!r} trong bảng giao_vien.",
            hint="Sửa mã trong school.toml ([ky] hoặc [gvcn]) hoặc cột ma_gvcn của bảng lop "
            "cho khớp bảng giao_vien.",
        )
    row = rows.row(0, named=True)
    if not row["ho_ten"] or not row["so_dinh_danh"]:
        raise ConfigurationError(
            f"{role.capitalize()} mã {ma!r} thiếu họ tên hoặc số định danh cá nhân.",
            hint="Bổ sung cột ho_ten và so_dinh_danh (12 chữ số) cho người này ở bảng giao_vien.",
        )
    return row


def _by_student(frame: pl.DataFrame) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for row in frame.iter_rows(named=True):
        out.setdefault(row["ma_hoc_sinh"], []).append(row)
    return out


def _joined_comments(rows: list[dict[str, Any]], group: str) -> str | None:
    """Per-criterion comments of one group, as the group comment when none was given."""
    parts = [
        f"{CRITERION_BY_CODE[r['tieu_chi']].ten}: {r['nhan_xet'].strip()}"
        for r in rows
        if r["nhan_xet"] and CRITERION_BY_CODE[r["tieu_chi"]].group == group
    ]
    return "; ".join(parts) or None


def _nonempty(value: str | None) -> str | None:
    return value.strip() if value and value.strip() else None


def build_records(
    data: SchoolData,
    results: pl.DataFrame,
    config: SchoolConfig,
    *,
    ids: Mapping[str, str] | None = None,
    phien_ban: int = 1,
    ngay_tao: dt.date,
    thay_the: Mapping[str, str] | None = None,
    ngay_phat_hanh_bo_sung: dt.date | None = None,
) -> list[RecordData]:
    """One ``RecordData`` per student of ``data`` that has a row in ``results``.

    ``results`` is ``tt27.compute_results`` output, possibly filtered (e.g. by
    ``han_nop``) to choose whom to build; a student whose promotion is still
    pending (``duoc_len_lop`` null) is refused. ``ids`` maps ma_hoc_sinh to the
    record's ``madinhdanhhocba`` (a new UUID4 when absent); ``thay_the`` maps
    ma_hoc_sinh to the revoked record a new version replaces. Records come in
    the order of ``results`` sorted by class and student code.

    The date of issue (``ngaykyphathanh``) is the wave's: the configured
    ``[nam_hoc] ngay_ky_phat_hanh`` for the main wave, and ``ngay_phat_hanh_bo_sung``
    (recorded by the summer import, ``hocbaso.store.waves``) for a pupil of the
    supplementary deadline once it is known.
    """
    ids = ids or {}
    thay_the = thay_the or {}
    truong, nam_hoc = config.truong, config.nam_hoc
    ht = _teacher(data.giao_vien, config.ky.hieu_truong, "người ký (hiệu trưởng)")
    lops = {r["ma_lop"]: r for r in data.lop.iter_rows(named=True)}
    subjects = _by_student(data.ket_qua_mon)
    criteria = _by_student(data.pham_chat_nang_luc)
    tong_hop = {r["ma_hoc_sinh"]: r for r in data.tong_hop.iter_rows(named=True)}
    students = data.hoc_sinh.join(
        results.select(pl.exclude("ma_lop", "khoi")), on="ma_hoc_sinh", how="inner"
    ).sort("ma_lop", "ma_hoc_sinh")

    pending = students.filter(pl.col("duoc_len_lop").is_null())
    if pending.height:
        classes = ", ".join(sorted(set(pending["ma_lop"].to_list())))
        raise RecordError(
            f"Lớp {classes}: {pending.height} học sinh chưa có kết quả lên lớp "
            "(chờ đánh giá bổ sung hoặc quyết định của hiệu trưởng), chưa lập được học bạ.",
            hint="Lập học bạ đợt chính chỉ cho học sinh có han_nop = 'chinh'; sau đánh giá bổ "
            "sung, ghi danh_gia_bo_sung và len_lop ở bảng tong_hop rồi lập đợt bổ sung.",
        )

    gvcn_cache: dict[str, dict[str, Any]] = {}
    missing: Counter[str] = Counter()
    records: list[RecordData] = []
    for hs in students.iter_rows(named=True):
        ma_hs, ma_lop = hs["ma_hoc_sinh"], hs["ma_lop"]
        lop = lops.get(ma_lop)
        if lop is None:
            raise RecordError(
                f"Lớp {ma_lop!r} của một học sinh không có trong bảng lop.",
                hint="Bổ sung lớp vào bảng lop hoặc sửa cột ma_lop của bảng hoc_sinh.",
            )
        khoi = int(lop["khoi"])
        ma_gvcn = config.gvcn.get(ma_lop) or lop["ma_gvcn"]
        if ma_gvcn not in gvcn_cache:
            gvcn_cache[ma_gvcn] = _teacher(data.giao_vien, ma_gvcn, f"GVCN lớp {ma_lop}")
        gvcn = gvcn_cache[ma_gvcn]
        th = tong_hop.get(ma_hs, {})
        crit_rows = sorted(criteria.get(ma_hs, []), key=lambda r: _CRITERION_RANK[r["tieu_chi"]])
        subj_rows = sorted(subjects.get(ma_hs, []), key=lambda r: _SUBJECT_RANK[r["mon_hoc"]])

        x = XepLoai(hs["danh_gia"]) if hs["danh_gia"] else None
        duoc_len_lop = bool(hs["duoc_len_lop"])
        required = {
            "quequan_diachichitiet": _nonempty(hs["que_quan"]),
            "noiohiennay_diachichitiet": _nonempty(hs["noi_o"]),
            "noisinh_diachichitiet": _nonempty(hs["noi_sinh"]),
            "nxetgvcn": _nonempty(th.get("nhan_xet")),
            "nxetnanglucchung": _nonempty(th.get("nhan_xet_nang_luc_chung"))
            or _joined_comments(crit_rows, "nang_luc_chung"),
            "nxetnanglucdacthu": _nonempty(th.get("nhan_xet_nang_luc_dac_thu"))
            or _joined_comments(crit_rows, "nang_luc_dac_thu"),
        }
        given = {name: value for name, value in required.items() if value is not None}
        if len(given) < len(required):
            missing.update(name for name in required if name not in given)
            continue

        levels = {CRITERION_BY_CODE[r["tieu_chi"]].element: r["muc_dat"] for r in crit_rows}
        records.append(
            RecordData(
                phienbanthongtinhocba=str(phien_ban),
                thongtu=THONG_TU,
                madinhdanhhocba=ids.get(ma_hs) or str(uuid.uuid4()),
                namhoc=nam_hoc.nam_hoc,
                masogd=truong.ma_so_gd,
                tensogd=truong.ten_so_gd,
                matruong=truong.ma_truong,
                tentruong=truong.ten_truong,
                tenhuyen=truong.ten_huyen or None,
                thongtintruong_diachi_tenxa=truong.ten_xa,
                thongtintruong_diachi_tentinh=truong.ten_tinh,
                thongtintruong_diachi_maxa=truong.ma_xa or None,
                thongtintruong_diachi_matinh=truong.ma_tinh,
                macaphoc=MA_CAP_HOC_TIEU_HOC,
                sosodangbo=_nonempty(hs["so_dang_bo"]),
                hovaten=hs["ho_ten"],
                sodinhdanh=hs["so_dinh_danh"],
                mahocsinh=ma_hs,
                gioitinh=GIOI_TINH_CODES.get(hs["gioi_tinh"] or "", GIOI_TINH_UNKNOWN),
                ngaythangnamsinh=hs["ngay_sinh"],
                cannang=hs["can_nang"],
                chieucao=hs["chieu_cao"],
                nghicophep=hs["nghi_co_phep"] or 0,
                nghikhongphep=hs["nghi_khong_phep"] or 0,
                noisinh_diachichitiet=given["noisinh_diachichitiet"],
                quequan_diachichitiet=given["quequan_diachichitiet"],
                noiohiennay_diachichitiet=given["noiohiennay_diachichitiet"],
                dantoc=ma_dan_toc(hs["dan_toc"] or ""),
                quoctich=ma_quoc_tich(hs["quoc_tich"]),
                doituongchinhsach=_nonempty(hs["doi_tuong_chinh_sach"]),
                cokhuyettatkhongdanhgia=bool(hs["khuyet_tat_khong_danh_gia"]),
                hotencha=_nonempty(hs["ho_ten_cha"]),
                hotenme=_nonempty(hs["ho_ten_me"]),
                hotennguoigiamho=_nonempty(hs["ho_ten_nguoi_giam_ho"]),
                tengiamhieu=ht["ho_ten"],
                soddcngiamhieu=ht["so_dinh_danh"],
                diadanhphathanh=truong.dia_danh_phat_hanh,
                ngaykyphathanh=(
                    ngay_phat_hanh_bo_sung
                    if ngay_phat_hanh_bo_sung is not None
                    and hs.get("han_nop") == tt27.HAN_NOP_BO_SUNG
                    else nam_hoc.ngay_ky_phat_hanh
                ),
                ngaytao=ngay_tao,
                chucvugiamhieu=config.ky.chuc_vu_ky,
                tengvcn=gvcn["ho_ten"],
                soddcngvcn=gvcn["so_dinh_danh"],
                makhoi=str(khoi),
                tenlop=ma_lop,
                xeploai=x,
                duoclenlop=duoc_len_lop,
                ndunghoanthanh=tt27.completion_text(khoi, x, duoc_len_lop),
                dahthanhctrinhlophoc=bool(hs["hoan_thanh_chuong_trinh_lop"]),
                dahthanhctrinhtieuhoc=bool(hs["hoan_thanh_chuong_trinh_tieu_hoc"]),
                ndungkhenthuong=_nonempty(hs["khen_thuong"]),
                ndungkhenthuongdotxuat=_nonempty(th.get("khen_thuong_dot_xuat")),
                nxetgvcn=given["nxetgvcn"],
                nxetphamchat=_nonempty(th.get("nhan_xet_pham_chat"))
                or _joined_comments(crit_rows, "pham_chat"),
                nxetnanglucchung=given["nxetnanglucchung"],
                nxetnanglucdacthu=given["nxetnanglucdacthu"],
                quatrinhhoctap=(
                    QuaTrinhHocTap(
                        namhoc=nam_hoc.nam_hoc,
                        tenlop=ma_lop,
                        tentruong=truong.ten_truong,
                        tentinh=truong.ten_tinh,
                    ),
                ),
                dsbangdiem=tuple(
                    BangDiem(
                        mamonhoc=SUBJECT_BY_CODE[r["mon_hoc"]].ma_mon_hoc,
                        tenmonhoc=SUBJECT_BY_CODE[r["mon_hoc"]].ten,
                        mucdatduoc=r["muc_dat"],
                        diemkiemtradinhky=r["diem_ktdk"],
                        nhanxet=_nonempty(r["nhan_xet"]),
                    )
                    for r in subj_rows
                ),
                dsnhanxettieuchi=tuple(
                    NhanXetTieuChi(
                        matieuchi=CRITERION_BY_CODE[r["tieu_chi"]].element,
                        nhanxet=r["nhan_xet"].strip(),
                    )
                    for r in crit_rows
                    if _nonempty(r["nhan_xet"])
                ),
                danhgiabosung=True if hs["danh_gia_bo_sung"] else None,
                madinhdanhhocbathaythe=thay_the.get(ma_hs),
                **levels,
            )
        )
    if missing:
        source = dict(_REQUIRED_FROM_DATA)
        detail = "; ".join(f"{source[name]}: {n} học sinh" for name, n in sorted(missing.items()))
        raise RecordError(
            f"Thiếu dữ liệu bắt buộc của học bạ ({detail}); chưa lập học bạ nào của lô này.",
            hint="Danh mục học bạ số bắt buộc các mục này: bổ sung các cột được nêu trong tệp "
            "nguồn rồi khởi tạo và chốt dữ liệu lại.",
        )
    return records
