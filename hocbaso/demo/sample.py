"""A fictional primary school in the canonical import format, generated from a seed.

The bundled sample school is what the demo, the tests and the benchmark run on,
so it must look like a real school's year (names, ages, class sizes, a realistic
spread of results) and obey every rule of ``docs/tt27.md``: a gate that
refuses the sample is a bug in the gate or in this generator. Everything is drawn
from one ``random.Random(seed)``, so the same arguments give the same bytes.

The tables come back as all-text polars frames, exactly what a school would type
into the spreadsheet (levels as short codes, dates ``YYYY-MM-DD``, flags ``0``/``1``);
the writers put them into a CSV folder or an ``.xlsx`` workbook (IDs as text cells,
numbers as numbers, birth dates as date cells, as school software exports them).
"""

from __future__ import annotations

import datetime as dt
import random
import re
import unicodedata
from collections.abc import Mapping
from pathlib import Path

import polars as pl
import xlsxwriter

from hocbaso import tt27
from hocbaso.dataset import TABLE_SCHEMAS
from hocbaso.model import GRADES, KHEN_THUONG_HTT, KHEN_THUONG_HTXS, SUBJECT_BY_CODE, XepLoai

TINH = "Tỉnh Minh Sơn"
XA = ("Phường Sen Hồng", "Xã Tân Lập", "Xã An Bình", "Xã Thanh Hà", "Phường Đông Sơn",
      "Xã Hồng Phong")  # fmt: skip
#: Fictional 3-digit province prefix of personal ID numbers (real ones stop at 096).
ID_PROVINCE = "099"


def _words(*lines: str) -> tuple[str, ...]:
    return tuple(" ".join(lines).split())


#: Family names with their rough weight in the population.
_FAMILY = tuple(
    (name, int(weight))
    for name, weight in (
        item.split(":")
        for item in _words(
            "Nguyễn:31 Trần:11 Lê:9 Phạm:7 Hoàng:5 Huỳnh:3 Phan:4 Vũ:4 Võ:3 Đặng:2",
            "Bùi:2 Đỗ:2 Hồ:1 Ngô:1 Dương:1 Lý:1 Đinh:1 Trương:1 Mai:1",
        )
    )
)
_MIDDLE = {
    "Nam": _words("Văn Đức Minh Quang Hữu Gia Thành Anh Công Đình Bảo Trung Hoàng Tuấn Nhật"),
    "Nữ": _words("Thị Ngọc Thu Minh Khánh Bảo Thanh Phương Hồng Mai Gia Quỳnh Diệu Thùy Hà"),
}
_GIVEN = {
    "Nam": _words(
        "An Bảo Bình Công Cường Dũng Duy Đạt Đức Hải Hiếu Hoàng Huy Hùng Khang Khánh Khoa",
        "Kiên Lâm Long Minh Nam Nghĩa Nhân Phát Phong Phúc Quân Sơn Tài Thắng Thịnh Tiến",
        "Toàn Trí Trung Tuấn Tùng Việt Vinh Vũ",
    ),
    "Nữ": _words(
        "An Anh Châu Chi Diệp Dung Giang Hà Hân Hằng Hiền Hoa Hương Huyền Lan Linh Loan Mai",
        "My Nga Ngân Ngọc Nhi Nhung Oanh Phương Quyên Quỳnh Tâm Thảo Thư Trang Trâm Uyên",
        "Vân Vy Xuân Yến",
    ),
}
_DAN_TOC_THIEU_SO = _words("Tày Nùng Mường Thái Dao Mông")
_CHINH_SACH = ("Con hộ nghèo", "Con hộ cận nghèo", "Con thương binh")
_KHEN_DOT_XUAT = (
    "Đạt giải Ba cuộc thi Viết chữ đẹp cấp trường",
    "Có thành tích trong phong trào Kế hoạch nhỏ",
    "Đạt giải Nhì Hội khỏe Phù Đổng cấp trường",
)

_SUBJECT_COMMENT = {
    "T": (
        "Em nắm vững kiến thức môn {m}, vận dụng tốt vào thực hành.",
        "Em học tốt môn {m}, tích cực phát biểu xây dựng bài.",
        "Em hoàn thành tốt các nội dung môn {m}.",
    ),
    "H": (
        "Em hoàn thành các nội dung môn {m}.",
        "Em nắm được kiến thức cơ bản môn {m}, cần cẩn thận hơn khi làm bài.",
        "Em hoàn thành yêu cầu môn {m}, cần mạnh dạn hơn.",
    ),
    "C": (
        "Em chưa hoàn thành một số nội dung môn {m}, cần luyện tập thêm.",
        "Em cần được giúp đỡ thêm để hoàn thành môn {m}.",
    ),
    "M": ("Được miễn học môn {m} theo quy định.",),
}
_GENERAL_COMMENT = {
    "HTXS": "Em chăm ngoan, tiếp thu bài nhanh, hoàn thành xuất sắc các nội dung học tập và "
    "rèn luyện.",
    "HTT": "Em chăm chỉ, có ý thức tự học, hoàn thành tốt các nội dung học tập và rèn luyện.",
    "HT": "Em hoàn thành các nội dung học tập, cần mạnh dạn và cẩn thận hơn.",
    "CHT": "Em cần được gia đình và thầy cô giúp đỡ thêm để hoàn thành chương trình lớp học.",
    None: "Em được đánh giá theo kế hoạch giáo dục cá nhân; có nhiều tiến bộ trong năm học.",
}


def _decimal(value: float) -> str:
    """One decimal, written as a spreadsheet shows it (``113`` rather than ``113.0``)."""
    return f"{value:.1f}".removesuffix(".0")


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


class _School:
    """The generator's state: one random stream and the sets that keep IDs unique."""

    def __init__(self, seed: int, nam_hoc_start: int) -> None:
        self.rng = random.Random(seed)
        self.start = nam_hoc_start
        self.ids: set[str] = set()

    def family(self) -> str:
        names, weights = zip(*_FAMILY, strict=True)
        return self.rng.choices(names, weights)[0]

    def name(self, sex: str, family: str | None = None) -> str:
        return (
            f"{family or self.family()} {self.rng.choice(_MIDDLE[sex])} "
            f"{self.rng.choice(_GIVEN[sex])}"
        )

    def personal_id(self, sex: str, born: int) -> str:
        """A unique 12-digit number shaped like a citizen ID (province, sex+century, year)."""
        century = 0 if born < 2000 else 2
        code = century + (0 if sex == "Nam" else 1)
        while True:
            value = f"{ID_PROVINCE}{code}{born % 100:02d}{self.rng.randrange(10**6):06d}"
            if value not in self.ids:
                self.ids.add(value)
                return value

    def place(self) -> str:
        return f"{self.rng.choice(XA)}, {TINH}"


def _class_sizes(n: int, rng: random.Random) -> dict[int, list[int]]:
    """Students per class per grade: ~n/5 per grade, classes of about 35."""
    weights = (0.205, 0.2, 0.2, 0.2, 0.195)
    per_grade = [round(n * w) for w in weights]
    per_grade[-1] += n - sum(per_grade)
    sizes: dict[int, list[int]] = {}
    for khoi, count in zip(GRADES, per_grade, strict=True):
        k = max(1, round(count / 35))
        base, extra = divmod(count, k)
        sizes[khoi] = [base + (1 if i < extra else 0) for i in range(k)]
        rng.shuffle(sizes[khoi])
    return sizes


def _class_name(khoi: int, i: int) -> str:
    letters = "ABCDEFGHIKLMNOPQRSTUVXY"
    if i < len(letters):
        return f"{khoi}{letters[i]}"
    return f"{khoi}A{i + 1:02d}"


def _target(rng: random.Random) -> str:
    return rng.choices(("HTXS", "HTT", "HT", "CHT"), (12.5, 27, 55.5, 5))[0]


def _levels(
    target: str, subjects: list[tuple[str, bool]], criteria: tuple[str, ...], rng: random.Random
) -> tuple[dict[str, tuple[str, str | None]], dict[str, str]]:
    """Subject (level, score) and criterion levels that give exactly ``target``.

    ``subjects`` lists (code, has_test) of the non-exempt subjects studied.
    """
    subj: dict[str, tuple[str, str | None]] = {}
    crit: dict[str, str] = {}
    tested = [s for s, t in subjects if t]

    def score(lo: int, hi: int, has_test: bool) -> str | None:
        return str(rng.randint(lo, hi)) if has_test else None

    if target in ("HTXS", "HTT"):
        lo = 9 if target == "HTXS" else 7
        for s, t in subjects:
            subj[s] = ("T", score(lo, 10, t))
        crit = dict.fromkeys(criteria, "T")
        if target == "HTT" and tested:
            s = rng.choice(tested)
            subj[s] = ("T", str(rng.randint(7, 8)))
        return subj, crit
    for s, t in subjects:
        lv = "T" if rng.random() < 0.45 else "H"
        subj[s] = (lv, score(7, 10, t) if lv == "T" else score(5, 8, t))
    crit = {c: "T" if rng.random() < 0.6 else "Đ" for c in criteria}
    if target == "HT":
        if all(lv == "T" for lv, _ in subj.values()) and all(v == "T" for v in crit.values()):
            s, t = rng.choice(subjects)
            subj[s] = ("H", score(5, 6, t))
        return subj, crit
    # CHT: one or two subjects not completed (a low score where there is a test),
    # sometimes a criterion needing effort.
    for s, t in rng.sample(subjects, k=min(len(subjects), rng.choice((1, 1, 2)))):
        subj[s] = ("C", score(2, 4, t))
    if rng.random() < 0.3:
        crit[rng.choice(criteria)] = "C"
    return subj, crit


def _result(subj: Mapping[str, tuple[str, str | None]], crit: Mapping[str, str]) -> XepLoai:
    scores = [tt27.parse_score(sc) for _, sc in subj.values()]
    return tt27.overall_result(
        [lv for lv, _ in subj.values()], crit.values(), [s for s in scores if s is not None]
    )


def generate_school(
    n_students: int = 1000, seed: int = 2026, nam_hoc_start: int = 2025
) -> dict[str, pl.DataFrame]:
    """The sample school's tables (``lop``, ``giao_vien``, ``hoc_sinh``, ``ket_qua_mon``,
    ``pham_chat_nang_luc``, ``tong_hop``) as all-text frames in the canonical format."""
    g = _School(seed, nam_hoc_start)
    rng = g.rng
    rows: dict[str, list[dict[str, str | None]]] = {t: [] for t in TABLE_SCHEMAS}

    def teacher(ma: str, chuc_vu: str) -> str:
        sex = "Nữ" if rng.random() < 0.8 else "Nam"
        rows["giao_vien"].append(
            {
                "ma_giao_vien": ma,
                "ho_ten": g.name(sex),
                "so_dinh_danh": g.personal_id(sex, rng.randint(1970, 1998)),
                "chuc_vu": chuc_vu,
            }
        )
        return ma

    teacher("GV001", "Hiệu trưởng")
    teacher("GV002", "Phó hiệu trưởng")
    teacher("NV001", "Nhân viên")
    sizes = _class_sizes(n_students, rng)
    seq = 0
    next_gv = 3
    for khoi, class_sizes in sizes.items():
        compulsory = tt27.subjects_for_grade(khoi)
        criteria = tt27.criteria_for_grade(khoi)
        for i, size in enumerate(class_sizes):
            ma_lop = _class_name(khoi, i)
            gvcn = teacher(f"GV{next_gv:03d}", "Giáo viên")
            next_gv += 1
            rows["lop"].append({"ma_lop": ma_lop, "khoi": str(khoi), "ma_gvcn": gvcn})
            class_takes_nn1 = khoi <= 2 and rng.random() < 0.5
            pupils = []
            for _ in range(size):
                sex = rng.choice(("Nam", "Nữ"))
                family = g.family()
                pupils.append((g.name(sex, family), sex, family))
            pupils.sort(key=lambda p: (p[0].split()[-1], p[0]))
            for ho_ten, sex, family in pupils:
                seq += 1
                rows_for = _student(
                    g, seq, khoi, ma_lop, ho_ten, sex, family, compulsory, criteria, class_takes_nn1
                )
                for table, table_rows in rows_for.items():
                    rows[table].extend(table_rows)
    # A few subject teachers without a class.
    for _ in range(max(2, len(rows["lop"]) // 5)):
        teacher(f"GV{next_gv:03d}", "Giáo viên")
        next_gv += 1
    return {
        table: pl.DataFrame(
            [{k: (_nfc(v) if isinstance(v, str) else v) for k, v in r.items()} for r in rs],
            schema=dict.fromkeys(TABLE_SCHEMAS[table], pl.String()),
        )
        if rs
        else pl.DataFrame(schema=dict.fromkeys(TABLE_SCHEMAS[table], pl.String()))
        for table, rs in rows.items()
    }


def _student(
    g: _School,
    seq: int,
    khoi: int,
    ma_lop: str,
    ho_ten: str,
    sex: str,
    family: str,
    compulsory: tuple[str, ...],
    criteria: tuple[str, ...],
    class_takes_nn1: bool,
) -> dict[str, list[dict[str, str | None]]]:
    """All rows about one student: hoc_sinh, ket_qua_mon, pham_chat_nang_luc, tong_hop."""
    rng = g.rng
    ma = f"9901{seq:06d}"
    born = g.start - 5 - khoi - (1 if rng.random() < 0.03 else 0)
    birth = dt.date(born, 1, 1) + dt.timedelta(days=rng.randrange(365))
    age = g.start - born
    minority = rng.random() < 0.08
    not_assessed = seq % 487 == 200  # one or two students per thousand
    parents = rng.random()
    student = {
        "ma_hoc_sinh": ma,
        "so_dinh_danh": g.personal_id(sex, born),
        "ho_ten": ho_ten,
        "ngay_sinh": birth.isoformat(),
        "gioi_tinh": sex,
        "dan_toc": rng.choice(_DAN_TOC_THIEU_SO) if minority else "Kinh",
        "quoc_tich": "Việt Nam",
        "noi_sinh": g.place(),
        "que_quan": g.place(),
        "noi_o": f"Thôn {rng.randint(1, 12)}, {g.place()}",
        "ho_ten_cha": g.name("Nam", family) if parents < 0.95 else None,
        "ho_ten_me": g.name("Nữ") if parents < 0.9 or parents >= 0.95 else None,
        "ho_ten_nguoi_giam_ho": g.name(rng.choice(("Nam", "Nữ"))) if parents >= 0.98 else None,
        "ma_lop": ma_lop,
        "so_dang_bo": f"{seq:04d}/{g.start - khoi + 1}",
        "khuyet_tat_khong_danh_gia": "1" if not_assessed else "0",
        "doi_tuong_chinh_sach": rng.choice(_CHINH_SACH) if rng.random() < 0.04 else None,
        "chieu_cao": _decimal(112 + 5.5 * (age - 6) + rng.gauss(0, 4.5)),
        "can_nang": _decimal(19 + 3.2 * (age - 6) + rng.gauss(0, 2.5)),
        "nghi_co_phep": str(rng.choices(range(9), (30, 20, 15, 10, 8, 6, 5, 3, 3))[0]),
        "nghi_khong_phep": str(rng.choices(range(3), (90, 8, 2))[0]),
    }
    studied = list(compulsory)
    if khoi <= 2 and class_takes_nn1 and rng.random() < 0.9:
        studied.append("NN1")
    if minority and rng.random() < 0.4:
        studied.append("TDT")
    exempt: set[str] = set()
    if rng.random() < 0.006:
        exempt.add("GDTC")
    if khoi >= 3 and rng.random() < 0.003:
        exempt.add("NN1")
    assessed = [(s, tt27.has_periodic_test(s, khoi)) for s in studied if s not in exempt]

    target = "HT" if not_assessed else _target(rng)
    # The sample shows the school after the summer: every CHT student was assessed again
    # and, if still short, has the principal's decision, so every record can be issued.
    supplementary = target == "CHT"
    if supplementary and rng.random() < 0.5:
        target = "HT"  # passed the summer assessment
    subj, crit = _levels(target, assessed, criteria, rng)
    for s in exempt:
        subj[s] = ("M", "M")
    result: XepLoai | None = None if not_assessed else _result(subj, crit)
    if result is not None and result.value != target:
        raise AssertionError(f"sample generator: {target} gave {result}")  # a generator bug

    kqm = []
    for s in studied:
        lv, sc = subj[s]
        comment = rng.choice(_SUBJECT_COMMENT[lv]) if rng.random() < 0.7 else None
        kqm.append(
            {
                "ma_hoc_sinh": ma,
                "mon_hoc": s,
                "muc_dat": lv,
                "diem_ktdk": sc,
                "nhan_xet": comment.format(m=SUBJECT_BY_CODE[s].ten.lower()) if comment else None,
            }
        )
    pcnl = (
        []
        if not_assessed
        else [
            {
                "ma_hoc_sinh": ma,
                "tieu_chi": c,
                "muc_dat": lv,
                "nhan_xet": "Em cần cố gắng nhiều hơn." if lv == "C" else None,
            }
            for c, lv in crit.items()
        ]
    )

    dg = None if result is None else result.value
    khen = None
    if dg == "HTXS" and rng.random() < 0.9:
        khen = KHEN_THUONG_HTXS
    elif dg == "HTT" and rng.random() < 0.5:
        khen = KHEN_THUONG_HTT
    still_cht = dg == "CHT"
    tong_hop = {
        "ma_hoc_sinh": ma,
        "danh_gia": dg if rng.random() < 0.85 else None,
        "khen_thuong": khen,
        "khen_thuong_dot_xuat": rng.choice(_KHEN_DOT_XUAT) if rng.random() < 0.02 else None,
        "danh_gia_bo_sung": "1" if supplementary else "0",
        "len_lop": ("1" if rng.random() < 0.6 else "0") if supplementary and still_cht else None,
        "nhan_xet": _GENERAL_COMMENT[dg],
        "nhan_xet_pham_chat": "Em lễ phép, đoàn kết, biết giúp đỡ bạn bè."
        if not not_assessed
        else None,
        "nhan_xet_nang_luc_chung": "Em biết tự học và hợp tác với bạn trong nhóm.",
        "nhan_xet_nang_luc_dac_thu": "Em đọc, viết và tính toán theo yêu cầu của lớp.",
    }
    return {
        "hoc_sinh": [student],
        "ket_qua_mon": kqm,
        "pham_chat_nang_luc": pcnl,
        "tong_hop": [tong_hop],
    }


# --------------------------------------------------------------------------------------
# Writers
# --------------------------------------------------------------------------------------

#: Columns a school's software exports as number cells (everything else is text; IDs
#: in particular stay text so that leading zeros survive).
NUMBER_COLUMNS = frozenset(
    {
        "khoi",
        "diem_ktdk",
        "chieu_cao",
        "can_nang",
        "nghi_co_phep",
        "nghi_khong_phep",
        "khuyet_tat_khong_danh_gia",
        "danh_gia_bo_sung",
        "len_lop",
    }
)
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_NUMBER = re.compile(r"-?\d+(\.\d+)?")
#: Columns exported as Excel date cells (values that are not ISO dates go in as text).
DATE_COLUMNS = frozenset({"ngay_sinh"})


def write_csv_folder(tables: Mapping[str, pl.DataFrame], directory: Path) -> list[Path]:
    """One UTF-8 ``<table>.csv`` per table in ``directory`` (created if needed)."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for table, frame in tables.items():
        path = directory / f"{table}.csv"
        frame.write_csv(path)
        paths.append(path)
    return paths


def write_xlsx(tables: Mapping[str, pl.DataFrame], path: Path) -> Path:
    """One workbook, one sheet per table named after it, header on row 1.

    Written row by row in xlsxwriter's constant-memory mode so a district-size file
    (250,000 result rows) stays cheap.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    wb = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    # A fixed creation time keeps the file byte-identical for the same tables.
    wb.set_properties({"title": "Dữ liệu khởi tạo học bạ số", "created": dt.datetime(2026, 1, 1)})
    header = wb.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
    text = wb.add_format({"num_format": "@"})
    date = wb.add_format({"num_format": "dd/mm/yyyy"})
    try:
        for table, frame in tables.items():
            ws = wb.add_worksheet(table)
            columns = frame.columns
            for c, name in enumerate(columns):
                ws.write_string(0, c, name, header)
                ws.set_column(c, c, max(10, min(40, len(name) + 4)))
            ws.freeze_panes(1, 0)
            kinds = [
                "n" if n in NUMBER_COLUMNS else "d" if n in DATE_COLUMNS else "s" for n in columns
            ]
            for r, row in enumerate(frame.iter_rows(), start=1):
                for c, value in enumerate(row):
                    if value is None:
                        continue
                    kind = kinds[c]
                    if kind == "n" and _NUMBER.fullmatch(value):
                        ws.write_number(r, c, float(value))
                    elif kind == "d" and _ISO_DATE.fullmatch(value):
                        ws.write_datetime(r, c, dt.datetime.fromisoformat(value), date)
                    else:
                        ws.write_string(r, c, value, text)
    finally:
        wb.close()
    return path
