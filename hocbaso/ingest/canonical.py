"""Reading the canonical import format (``docs/import-format.md``) as text.

The school's file is read once, as it is: every cell as text (so that IDs keep
their leading zeros and nothing is guessed), each row tagged with the row number
a spreadsheet shows (header = row 1), so that the gates can point the teacher at
the exact cell. Only harmless spelling differences are normalised
(``hocbaso.ingest.normalise``); anything that does not fit stays as typed, for the
row gate to report.

The sheet and CSV readers here are also what the other layouts build on (the class
summary sheet, the CSDL ngành export), so a workbook is opened one way everywhere.

This module refuses a source only when it cannot be read as the format at all
(not UTF-8, not a workbook, a table or a required column missing):
``InputDataError``. Everything else is the gates' business.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from collections.abc import Mapping
from pathlib import Path

import fastexcel
import polars as pl
from lxml import etree

from hocbaso.dataset import REQUIRED_TABLES, TABLE_SCHEMAS
from hocbaso.errors import InputDataError
from hocbaso.ingest.normalise import fold, normalise_table, text_expr
from hocbaso.ingest.source import ROW, RawSource, RawTable, SourceKind

XLSX_SUFFIXES = frozenset({".xlsx", ".xlsm"})

#: Columns every source must have (a column whose values are required, or a code).
#: The other columns of ``TABLE_SCHEMAS`` are optional and read as empty when absent.
REQUIRED_COLUMNS: Mapping[str, tuple[str, ...]] = {
    "lop": ("ma_lop", "khoi", "ma_gvcn"),
    "giao_vien": ("ma_giao_vien", "ho_ten", "so_dinh_danh", "chuc_vu"),
    "hoc_sinh": (
        "ma_hoc_sinh",
        "so_dinh_danh",
        "ho_ten",
        "ngay_sinh",
        "gioi_tinh",
        "dan_toc",
        "noi_sinh",
        "que_quan",
        "noi_o",
        "ma_lop",
        "nghi_co_phep",
        "nghi_khong_phep",
    ),
    "ket_qua_mon": ("ma_hoc_sinh", "mon_hoc", "muc_dat", "diem_ktdk"),
    "pham_chat_nang_luc": ("ma_hoc_sinh", "tieu_chi", "muc_dat"),
    "tong_hop": ("ma_hoc_sinh", "nhan_xet"),
}

_SAVE_AS_UTF8 = (
    'Mở tệp bằng Excel, chọn File > Save As (Lưu thành), ở ô "Save as type" chọn '
    '"CSV UTF-8 (Comma delimited) (*.csv)" rồi lưu đè và chạy lại. Hoặc dùng thẳng '
    "tệp Excel .xlsx (mỗi bảng một trang tính)."
)


# --------------------------------------------------------------------------------------
# Workbook
# --------------------------------------------------------------------------------------


def read_source_tables(path: Path, tables: tuple[str, ...]) -> RawSource:
    """Only ``tables`` of a workbook (all of them required): other layouts read the canonical
    sheets they share with the format this way."""
    return read_workbook(Path(path), tables)


def read_workbook(path: Path, wanted: tuple[str, ...] | None = None) -> RawSource:
    data = path.read_bytes()
    try:
        reader = fastexcel.read_excel(data)
        sheet_names = reader.sheet_names
    except Exception as exc:  # fastexcel raises its own error tree; any of them means unreadable
        raise InputDataError(
            f"Không mở được tệp Excel {path.name}: tệp hỏng hoặc không phải định dạng .xlsx.",
            hint='Mở tệp bằng Excel rồi lưu lại dạng "Excel Workbook (*.xlsx)"; nếu tệp có mật '
            "khẩu, bỏ mật khẩu trước.",
        ) from exc
    by_table = {fold(n): n for n in sheet_names}
    found: dict[str, pl.DataFrame] = {}
    names: dict[str, str] = {}
    for table in wanted or TABLE_SCHEMAS:
        sheet = by_table.get(table)
        if sheet is None:
            continue
        try:
            frame = reader.load_sheet(sheet, dtypes="string").to_polars()
        except Exception as exc:
            raise InputDataError(
                f'Không đọc được trang tính "{sheet}" trong {path.name}.',
                hint="Mở tệp bằng Excel, kiểm tra trang tính này (ô gộp, dữ liệu hỏng) và lưu lại.",
            ) from exc
        first = first_used_row(data, sheet)
        found[table] = frame.with_columns(
            pl.int_range(first + 1, first + 1 + frame.height, dtype=pl.Int32).alias(ROW)
        )
        names[table] = sheet
    ignored = tuple(n for n in sheet_names if fold(n) not in TABLE_SCHEMAS)
    return _assemble(
        path,
        "xlsx",
        found,
        names,
        hashlib.sha256(data).hexdigest(),
        ignored,
        "trang tính",
        wanted or REQUIRED_TABLES,
    )


_NS_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_NS_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_NS_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"


def first_used_row(data: bytes, sheet: str) -> int:
    """The sheet row (1-based) of the first row holding a value: the header row.

    calamine starts a sheet at its first used row, so without this a sheet whose
    header is not on row 1 would get every row number wrong. Reads only the start of
    the sheet's XML; 1 when anything about the package is unexpected.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            wb = etree.fromstring(z.read("xl/workbook.xml"))
            rid = None
            for s in wb.iter(f"{{{_NS_MAIN}}}sheet"):
                if s.get("name") == sheet:
                    rid = s.get(f"{{{_NS_REL}}}id")
            rels = etree.fromstring(z.read("xl/_rels/workbook.xml.rels"))
            target = next(
                (
                    r.get("Target")
                    for r in rels.iter(f"{{{_NS_PKG_REL}}}Relationship")
                    if r.get("Id") == rid
                ),
                None,
            )
            if target is None:
                return 1
            member = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
            with z.open(member) as fh:
                for _, row in etree.iterparse(fh, tag=f"{{{_NS_MAIN}}}row"):
                    has_value = any(
                        c.find(f"{{{_NS_MAIN}}}v") is not None
                        or c.find(f"{{{_NS_MAIN}}}is") is not None
                        for c in row.iter(f"{{{_NS_MAIN}}}c")
                    )
                    if has_value:
                        return int(row.get("r", "1"))
                    row.clear()
    except (KeyError, ValueError, zipfile.BadZipFile, etree.XMLSyntaxError):
        return 1
    return 1


# --------------------------------------------------------------------------------------
# CSV folder
# --------------------------------------------------------------------------------------


def read_csv_folder(folder: Path) -> RawSource:
    files = {
        fold(p.stem): p
        for p in sorted(folder.iterdir())
        if p.is_file() and p.suffix.lower() == ".csv"
    }
    found: dict[str, pl.DataFrame] = {}
    names: dict[str, str] = {}
    digest = hashlib.sha256()
    for table in TABLE_SCHEMAS:
        file = files.get(table)
        if file is None:
            continue
        data = file.read_bytes()
        digest.update(table.encode() + b"\0" + data + b"\0")
        found[table] = parse_csv(file, data)
        names[table] = file.name
    ignored = tuple(p.name for k, p in files.items() if k not in TABLE_SCHEMAS)
    return _assemble(folder, "csv", found, names, digest.hexdigest(), ignored, "tệp")


def parse_csv(file: Path, data: bytes) -> pl.DataFrame:
    if data.startswith(b"\xef\xbb\xbf"):  # Excel's "CSV UTF-8" starts with a BOM
        data = data[3:]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputDataError(
            f"Tệp {file.name} không được lưu theo bảng mã UTF-8 (byte lạ ở dòng {line}); "
            "có thể tệp được Excel lưu dạng CSV thường (Windows-1258), nên chữ tiếng Việt "
            "sẽ bị sai.",
            hint=_SAVE_AS_UTF8,
        ) from exc
    first_line = text.split("\n", 1)[0]
    # Excel with Vietnamese regional settings separates CSV fields with ';'.
    separator = ";" if first_line.count(";") > first_line.count(",") else ","
    try:
        frame = pl.read_csv(io.BytesIO(data), separator=separator, infer_schema=False)
    except (pl.exceptions.PolarsError, pl.exceptions.ComputeError) as exc:
        raise InputDataError(
            f"Tệp {file.name} không đúng dạng CSV (số cột không khớp hoặc dấu ngoặc kép lệch).",
            hint="Mở tệp bằng Excel, kiểm tra các ô có dấu phẩy hoặc xuống dòng, rồi lưu lại dạng "
            '"CSV UTF-8 (Comma delimited)".',
        ) from exc
    return frame.with_columns(pl.int_range(2, 2 + frame.height, dtype=pl.Int32).alias(ROW))


# --------------------------------------------------------------------------------------
# Shared: check tables and columns, then normalise
# --------------------------------------------------------------------------------------


def _assemble(
    path: Path,
    kind: SourceKind,
    found: dict[str, pl.DataFrame],
    names: dict[str, str],
    sha256: str,
    ignored: tuple[str, ...],
    unit: str,
    required: tuple[str, ...] = REQUIRED_TABLES,
) -> RawSource:
    """Check tables and columns, collecting every absence into one error; normalise."""
    missing: list[str] = []
    for table in required:
        if table not in found:
            suffix = "" if kind == "xlsx" else ".csv"
            missing.append(f'thiếu {unit} "{table}{suffix}"')
    renamed: dict[str, pl.DataFrame] = {}
    extras: dict[str, tuple[str, ...]] = {}
    for table, frame in found.items():
        mapping = {c: fold(c) for c in frame.columns if c != ROW}
        frame = frame.rename(mapping)
        known = set(TABLE_SCHEMAS[table])
        absent = [c for c in REQUIRED_COLUMNS[table] if c not in frame.columns]
        missing.extend(f'{unit} "{names[table]}" thiếu cột "{c}"' for c in absent)
        extra = tuple(
            c
            for c in frame.columns
            if c != ROW and c not in known and frame[c].null_count() < frame.height
        )
        extras[table] = extra
        renamed[table] = frame
    if missing:
        raise InputDataError(
            f"{path.name} chưa đúng mẫu dữ liệu khởi tạo: " + "; ".join(missing) + ".",
            hint="Tên bảng và tên cột phải đúng như mẫu (xem tài liệu định dạng nhập "
            "docs/import-format.md); thêm các bảng/cột còn thiếu rồi chạy lại.",
        )
    tables = {
        table: RawTable(table, normalise_table(table, frame), names[table], extras[table])
        for table, frame in renamed.items()
    }
    return RawSource(path=path, kind=kind, tables=tables, sha256=sha256, ignored=ignored)


# --------------------------------------------------------------------------------------
# One table on its own (the class summary sheet, the CSDL ngành export)
# --------------------------------------------------------------------------------------


def read_sheet(path: Path, sheet: str | int = 0) -> tuple[pl.DataFrame, str]:
    """One table from a workbook sheet (by name or position) or from one CSV file.

    Every column as text, headers compared-ready (NFC, trimmed, lower-case), cells NFC
    and trimmed with empty -> null, ``ROW`` as the spreadsheet row; also the sheet or
    file name for messages. Rows with no value at all are dropped.
    """
    path = Path(path)
    if path.is_file() and path.suffix.lower() == ".csv":
        frame, name = parse_csv(path, path.read_bytes()), path.name
    elif path.is_file() and path.suffix.lower() in XLSX_SUFFIXES:
        data = path.read_bytes()
        try:
            reader = fastexcel.read_excel(data)
            name = sheet if isinstance(sheet, str) else reader.sheet_names[sheet]
            frame = reader.load_sheet(name, dtypes="string").to_polars()
        except Exception as exc:  # fastexcel's own error tree, or no such sheet
            raise InputDataError(
                f"Không đọc được trang tính {sheet!r} trong {path.name}.",
                hint="Kiểm tra tên trang tính và mở tệp bằng Excel rồi lưu lại dạng .xlsx.",
            ) from exc
        first = first_used_row(data, name)
        frame = frame.with_columns(
            pl.int_range(first + 1, first + 1 + frame.height, dtype=pl.Int32).alias(ROW)
        )
    else:
        raise InputDataError(
            f"Không đọc được {path.name}: chỉ nhận tệp Excel .xlsx hoặc tệp .csv (UTF-8).",
            hint="Xuất dữ liệu ra Excel (.xlsx) hoặc CSV UTF-8 rồi chạy lại.",
        )
    frame = frame.rename({c: fold(c) for c in frame.columns if c != ROW})
    out = frame.select(*(text_expr(c).alias(c) for c in frame.columns if c != ROW), pl.col(ROW))
    return out.filter(~pl.all_horizontal(pl.exclude(ROW).is_null())), name
