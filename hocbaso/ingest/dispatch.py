"""Which layout a source is, and the reader for it.

The one entry point the initialize step calls: a folder is the canonical CSV form; a
workbook is either the canonical one (a sheet per table) or a workbook of TT27 class
summary sheets; anything else is refused here with what to do, before any reader
opens it. Choosing in one place keeps the readers independent of each other.
"""

from __future__ import annotations

from pathlib import Path

from hocbaso.errors import InputDataError
from hocbaso.ingest.bang_tong_hop import is_bang_tong_hop, read_bang_tong_hop
from hocbaso.ingest.canonical import XLSX_SUFFIXES, read_csv_folder, read_workbook
from hocbaso.ingest.source import RawSource


def read_source(path: Path) -> RawSource:
    """Read a workbook (one sheet per table), a folder of ``<table>.csv`` files, or a
    workbook of class summary sheets, as the canonical ``RawSource``."""
    path = Path(path)
    if path.is_dir():
        return read_csv_folder(path)
    if path.is_file() and path.suffix.lower() in XLSX_SUFFIXES:
        return read_bang_tong_hop(path) if is_bang_tong_hop(path) else read_workbook(path)
    if path.is_file() and path.suffix.lower() == ".csv":
        raise InputDataError(
            f"{path.name} là một tệp CSV riêng lẻ; dữ liệu khởi tạo cần đủ các bảng.",
            hint="Đặt các tệp lop.csv, giao_vien.csv, hoc_sinh.csv, ket_qua_mon.csv, "
            "pham_chat_nang_luc.csv (và tong_hop.csv) vào một thư mục rồi chỉ ra thư mục đó, "
            "hoặc dùng một tệp Excel .xlsx với mỗi bảng một trang tính.",
        )
    if not path.exists():
        raise InputDataError(
            f"Không tìm thấy {path}.", hint="Kiểm tra lại đường dẫn tới tệp dữ liệu."
        )
    raise InputDataError(
        f"Không đọc được {path.name}: chỉ nhận tệp Excel .xlsx hoặc một thư mục tệp .csv.",
        hint='Trong Excel chọn File > Save As > "Excel Workbook (*.xlsx)" rồi chạy lại.',
    )
