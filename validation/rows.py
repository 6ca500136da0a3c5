"""Gate 1, rows: every cell on its own has the right shape (pandera, polars backend).

The source arrives as text (``hocbaso.ingest``), so this gate decides what "a
date", "a 12-digit ID", "a level" mean, cell by cell. pandera runs lazily so that
every failing cell of every table is collected in one pass; its failure cases are
reshaped into ``Problem`` values with the spreadsheet row and a Vietnamese
sentence saying what was expected. A rule here never looks at another row or
another table (that is the references and rules gates' job), only at other cells
of the same row (e.g. "at least one parent or guardian").

``validation.typed`` then turns rows that passed into the typed frames of
``hocbaso.dataset``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import pandera.polars as pa
import polars as pl
from pandera.errors import SchemaErrors

from hocbaso import codes
from hocbaso.errors import RecordError
from hocbaso.ingest import ROW, RawSource
from hocbaso.model import CRITERIA, SUBJECTS, XepLoai
from validation.report import GateReport, Problem, Severity

CHUC_VU = ("Hiệu trưởng", "Phó hiệu trưởng", "Giáo viên", "Nhân viên")
CHUC_VU_KY = ("Hiệu trưởng", "Phó hiệu trưởng")  # signing managers: an ID is required
SCORE_PATTERN = r"^(10|[0-9]|M)$"


@dataclass(frozen=True)
class RowRule:
    """A rule of this gate: its id (shown in the report) and what it tells the school."""

    id: str
    message: str  # may use {column} and {value}


RULES: dict[str, RowRule] = {}


def _rule(rule_id: str, message: str) -> str:
    RULES[rule_id] = RowRule(rule_id, message)
    return rule_id


BAT_BUOC = _rule("bat_buoc", "Ô ở cột {column} đang trống mà cột này bắt buộc: nhập giá trị.")
SO_DINH_DANH = _rule(
    "so_dinh_danh_12_so",
    'Số định danh cá nhân "{value}" không đúng: phải gồm đúng 12 chữ số. Nếu số bị mất '
    "số 0 ở đầu, định dạng cột là Text (Văn bản) trong Excel rồi nhập lại.",
)
MA_HOC_SINH = _rule(
    "ma_hoc_sinh_dang",
    'Mã học sinh "{value}" không đúng: tối đa 20 ký tự, không có khoảng trắng '
    "(dùng đúng mã trên CSDL ngành).",
)
KHOI = _rule("khoi_1_5", 'Khối "{value}" không đúng: cấp tiểu học chỉ có khối 1, 2, 3, 4, 5.')
CHUC_VU_RULE = _rule(
    "chuc_vu_hop_le",
    'Chức vụ "{value}" không đúng: dùng một trong Hiệu trưởng, Phó hiệu trưởng, Giáo viên, '
    "Nhân viên.",
)
SDD_GIAM_HIEU = _rule(
    "so_dinh_danh_giam_hieu",
    "Hiệu trưởng và Phó hiệu trưởng ký học bạ nên phải có số định danh cá nhân: nhập 12 chữ số "
    "vào cột so_dinh_danh.",
)
NGAY = _rule(
    "ngay_hop_le",
    'Ngày "{value}" không đúng: ghi theo dạng NGÀY/THÁNG/NĂM (ví dụ 05/09/2019) hoặc '
    "NĂM-THÁNG-NGÀY (2019-09-05), và phải là một ngày có thật.",
)
GIOI_TINH = _rule("gioi_tinh_hop_le", 'Giới tính "{value}" không đúng: ghi Nam hoặc Nữ.')
CHA_ME = _rule(
    "cha_me_giam_ho",
    "Học sinh chưa có họ tên cha, mẹ hay người giám hộ: nhập ít nhất một trong ba cột "
    "ho_ten_cha, ho_ten_me, ho_ten_nguoi_giam_ho.",
)
CO_0_1 = _rule("co_0_1", 'Giá trị "{value}" ở cột {column} không đúng: ghi 1 (có) hoặc 0 (không).')
CHIEU_CAO = _rule(
    "chieu_cao_10_300", 'Chiều cao "{value}" không đúng: số đo bằng cm, từ 10 đến 300.'
)
CAN_NANG = _rule("can_nang_1_300", 'Cân nặng "{value}" không đúng: số đo bằng kg, từ 1 đến 300.')
SO_BUOI_NGHI = _rule(
    "so_buoi_nghi_0_200",
    'Số buổi nghỉ "{value}" ở cột {column} không đúng: số nguyên từ 0 đến 200.',
)
MON_HOC = _rule(
    "mon_hoc_hop_le",
    'Mã môn học "{value}" không có trong danh mục: dùng một trong '
    + ", ".join(s.code for s in SUBJECTS)
    + ".",
)
MUC_DAT_MON = _rule(
    "muc_dat_mon_hop_le",
    'Mức đạt được "{value}" không đúng: ghi T (Hoàn thành tốt), H (Hoàn thành), '
    "C (Chưa hoàn thành) hoặc M (miễn).",
)
DIEM = _rule(
    "diem_0_10",
    'Điểm kiểm tra định kì "{value}" không đúng: số nguyên từ 0 đến 10, không có phần thập '
    "phân, hoặc M nếu học sinh được miễn.",
)
TIEU_CHI = _rule(
    "tieu_chi_hop_le",
    'Mã phẩm chất/năng lực "{value}" không có trong danh mục: dùng một trong '
    + ", ".join(c.code for c in CRITERIA)
    + ".",
)
MUC_DAT_PCNL = _rule(
    "muc_dat_pcnl_hop_le",
    'Mức đạt được "{value}" không đúng: ghi T (Tốt), Đ (Đạt) hoặc C (Cần cố gắng).',
)
DANH_GIA = _rule(
    "danh_gia_hop_le",
    'Kết quả đánh giá "{value}" không đúng: ghi HTXS, HTT, HT hoặc CHT, hoặc để trống để '
    "hệ thống tự tính.",
)
DAN_TOC = _rule(
    "dan_toc_danh_muc",
    'Dân tộc "{value}" không có trong danh mục dân tộc Việt Nam (QCVN 109:2017): ghi đúng '
    "tên dân tộc (ví dụ Kinh, Tày, Mông, Khơ Me) hoặc mã 2 chữ số 01–54.",
)
QUOC_TICH = _rule(
    "quoc_tich_danh_muc",
    'Quốc tịch "{value}" chưa có trong danh mục: ghi tên quốc gia bằng tiếng Việt (ví dụ Việt '
    "Nam, Lào) hoặc mã 2 chữ cái theo ISO 3166-1 (VN, LA).",
)
BANG_RONG = _rule(
    "bang_rong", "Bảng {column} không có dòng dữ liệu nào: nhập dữ liệu rồi chạy lại."
)
COT_THUA = _rule(
    "cot_thua",
    'Cột "{column}" không thuộc mẫu dữ liệu nên bị bỏ qua. Nếu đây là cột của mẫu bị gõ sai '
    "tên, sửa tên cột cho đúng.",
)


def _max_len(n: int) -> str:
    rule_id = f"toi_da_{n}_ky_tu"
    if rule_id not in RULES:
        _rule(rule_id, f"Nội dung ở cột {{column}} dài quá {n} ký tự: rút gọn lại.")
    return rule_id


# --------------------------------------------------------------------------------------
# Checks
# --------------------------------------------------------------------------------------

Builder = Callable[[pl.Expr], pl.Expr]


def _custom(rule_id: str, ok: Builder) -> pa.Check:
    """A check from a polars expression over the column; empty cells pass (``bat_buoc`` is
    the rule for those), cells where ``ok`` is null fail."""

    def check(data: pa.PolarsData) -> pl.LazyFrame:
        col = pl.col(data.key)
        return data.lazyframe.select(col.is_null() | ok(col).fill_null(False))

    return pa.Check(check, name=rule_id, error=rule_id)


def _matches(rule_id: str, pattern: str) -> pa.Check:
    return pa.Check.str_matches(pattern, name=rule_id, error=rule_id)


def _one_of(rule_id: str, values: tuple[str, ...] | list[str]) -> pa.Check:
    return pa.Check.isin(list(values), name=rule_id, error=rule_id)


def _length(n: int) -> pa.Check:
    rule_id = _max_len(n)
    return pa.Check.str_length(max_value=n, name=rule_id, error=rule_id)


def _int_between(rule_id: str, lo: int, hi: int) -> pa.Check:
    return _custom(
        rule_id,
        lambda c: c.str.contains(r"^\d+$") & c.str.to_integer(strict=False).is_between(lo, hi),
    )


def _number_between(rule_id: str, lo: float, hi: float) -> pa.Check:
    return _custom(
        rule_id,
        lambda c: (
            c.str.contains(r"^\d+(\.\d+)?$") & c.cast(pl.Float64, strict=False).is_between(lo, hi)
        ),
    )


def _in_code_list(rule_id: str, to_code: Callable[[str], str]) -> pa.Check:
    """A name the code list knows (``hocbaso.codes``, matched loosely). Each distinct value
    is looked up once, so a district file costs a few dozen look-ups, not 10,000."""

    def check(data: pa.PolarsData) -> pl.LazyFrame:
        values = data.lazyframe.select(pl.col(data.key).drop_nulls().unique()).collect()
        known = []
        for value in values.to_series().to_list():
            try:
                to_code(value)
            except RecordError:
                continue
            known.append(value)
        col = pl.col(data.key)
        return data.lazyframe.select(col.is_null() | col.is_in(known))

    return pa.Check(check, name=rule_id, error=rule_id)


def _date_check() -> pa.Check:
    return _custom(NGAY, lambda c: c.str.to_date("%Y-%m-%d", strict=False).is_not_null())


def _any_of(rule_id: str, columns: tuple[str, ...]) -> pa.Check:
    """At least one of ``columns`` holds a value (reported on the column it is attached to)."""

    def check(data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(pl.any_horizontal(pl.col(c).is_not_null() for c in columns))

    return pa.Check(check, name=rule_id, error=rule_id)


def _manager_has_id() -> pa.Check:
    def check(data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(
            pl.col(data.key).is_not_null() | ~pl.col("chuc_vu").is_in(CHUC_VU_KY).fill_null(False)
        )

    return pa.Check(check, name=SDD_GIAM_HIEU, error=SDD_GIAM_HIEU)


def _col(*checks: pa.Check, required: bool = False) -> pa.Column:
    return pa.Column(pl.String, list(checks), nullable=not required, coerce=False)


_ID = _matches(SO_DINH_DANH, r"^\d{12}$")
_FLAG = _one_of(CO_0_1, ("0", "1"))

SCHEMAS: Mapping[str, pa.DataFrameSchema] = {
    "lop": pa.DataFrameSchema(
        {
            "ma_lop": _col(_length(10), required=True),
            "khoi": _col(_one_of(KHOI, ("1", "2", "3", "4", "5")), required=True),
            "ma_gvcn": _col(_length(20), required=True),
        }
    ),
    "giao_vien": pa.DataFrameSchema(
        {
            "ma_giao_vien": _col(_length(20), required=True),
            "ho_ten": _col(_length(150), required=True),
            "so_dinh_danh": _col(_ID, _manager_has_id()),
            "chuc_vu": _col(_one_of(CHUC_VU_RULE, CHUC_VU), required=True),
        }
    ),
    "hoc_sinh": pa.DataFrameSchema(
        {
            "ma_hoc_sinh": _col(_matches(MA_HOC_SINH, r"^\S{1,20}$"), required=True),
            "so_dinh_danh": _col(_ID, required=True),
            "ho_ten": _col(_length(150), required=True),
            "ngay_sinh": _col(_date_check(), required=True),
            "gioi_tinh": _col(_one_of(GIOI_TINH, ("Nam", "Nữ")), required=True),
            "dan_toc": _col(_in_code_list(DAN_TOC, codes.ma_dan_toc), required=True),
            "quoc_tich": _col(_in_code_list(QUOC_TICH, codes.ma_quoc_tich)),
            "noi_sinh": _col(_length(250), required=True),
            "que_quan": _col(_length(250), required=True),  # catalogue: quequan_diachichitiet
            "noi_o": _col(_length(250), required=True),  # catalogue: noiohiennay_diachichitiet
            "ho_ten_cha": _col(
                _length(150), _any_of(CHA_ME, ("ho_ten_cha", "ho_ten_me", "ho_ten_nguoi_giam_ho"))
            ),
            "ho_ten_me": _col(_length(150)),
            "ho_ten_nguoi_giam_ho": _col(_length(150)),
            "ma_lop": _col(_length(10), required=True),
            "so_dang_bo": _col(_length(50)),
            "khuyet_tat_khong_danh_gia": _col(_FLAG),
            "doi_tuong_chinh_sach": _col(_length(250)),
            "chieu_cao": _col(_number_between(CHIEU_CAO, 10, 300)),
            "can_nang": _col(_number_between(CAN_NANG, 1, 300)),
            "nghi_co_phep": _col(_int_between(SO_BUOI_NGHI, 0, 200), required=True),
            "nghi_khong_phep": _col(_int_between(SO_BUOI_NGHI, 0, 200), required=True),
        }
    ),
    "ket_qua_mon": pa.DataFrameSchema(
        {
            "ma_hoc_sinh": _col(required=True),
            "mon_hoc": _col(_one_of(MON_HOC, [s.code for s in SUBJECTS]), required=True),
            "muc_dat": _col(_one_of(MUC_DAT_MON, ("T", "H", "C", "M")), required=True),
            "diem_ktdk": _col(_matches(DIEM, SCORE_PATTERN)),
            "nhan_xet": _col(_length(2000)),
        }
    ),
    "pham_chat_nang_luc": pa.DataFrameSchema(
        {
            "ma_hoc_sinh": _col(required=True),
            "tieu_chi": _col(_one_of(TIEU_CHI, [c.code for c in CRITERIA]), required=True),
            "muc_dat": _col(_one_of(MUC_DAT_PCNL, ("T", "Đ", "C")), required=True),
            "nhan_xet": _col(_length(500)),
        }
    ),
    "tong_hop": pa.DataFrameSchema(
        {
            "ma_hoc_sinh": _col(required=True),
            "danh_gia": _col(_one_of(DANH_GIA, [x.value for x in XepLoai])),
            "khen_thuong": _col(_length(2000)),
            "khen_thuong_dot_xuat": _col(_length(2000)),
            "danh_gia_bo_sung": _col(_FLAG),
            "len_lop": _col(_FLAG),
            "nhan_xet": _col(_length(2000), required=True),
            "nhan_xet_pham_chat": _col(_length(500)),
            "nhan_xet_nang_luc_chung": _col(_length(500)),
            "nhan_xet_nang_luc_dac_thu": _col(_length(500)),
        }
    ),
}

#: Tables that must hold at least one row for anything to be issued.
NON_EMPTY_TABLES = ("lop", "giao_vien", "hoc_sinh")


def _message(rule_id: str, column: str | None, value: str | None) -> str:
    rule = RULES.get(rule_id)
    if rule is None:  # a pandera-internal check (e.g. a dtype): say so plainly
        return f'Giá trị "{value}" ở cột {column} không đúng định dạng (quy tắc {rule_id}).'
    return rule.message.format(column=column or "", value="" if value is None else value)


def _problems_of(table: str, frame: pl.DataFrame, error: SchemaErrors) -> list[Problem]:
    cases = error.failure_cases
    if not isinstance(cases, pl.DataFrame):
        cases = pl.from_pandas(cases)
    rows = frame[ROW]
    out = []
    for value, column, check, index in cases.select(
        "failure_case", "column", "check", "index"
    ).iter_rows():
        rule_id = BAT_BUOC if check == "not_nullable" else check
        sheet_row = int(rows[index]) if index is not None else None
        shown = None if rule_id in (BAT_BUOC, CHA_ME, SDD_GIAM_HIEU) else value
        out.append(
            Problem(table, sheet_row, column, rule_id, shown, _message(rule_id, column, shown))
        )
    return out


def check_rows(raw: RawSource) -> GateReport:
    """Run every table's schema lazily; one report with every failing cell."""
    problems: list[Problem] = []
    checked = 0
    for table, schema in SCHEMAS.items():
        if table not in raw.tables:
            continue
        rt = raw.tables[table]
        frame = rt.frame
        checked += frame.height
        for column in rt.extra_columns:
            problems.append(
                Problem(
                    table,
                    None,
                    column,
                    COT_THUA,
                    None,
                    _message(COT_THUA, column, None),
                    Severity.WARN,
                )
            )
        if frame.height == 0:
            if table in NON_EMPTY_TABLES:
                problems.append(
                    Problem(
                        table,
                        None,
                        None,
                        BANG_RONG,
                        None,
                        _message(BANG_RONG, rt.source_name, None),
                    )
                )
            continue
        try:
            schema.validate(frame, lazy=True)
        except SchemaErrors as exc:
            problems.extend(_problems_of(table, frame, exc))
    problems.sort(key=lambda p: (list(SCHEMAS).index(p.table), p.sheet_row or 0, p.column or ""))
    return GateReport("rows", raw.path.name, checked, tuple(problems))
