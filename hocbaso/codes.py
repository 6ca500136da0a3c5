"""Code lists the record needs beyond ``hocbaso.model``: ethnicity and nationality.

The import format carries names as the school writes them ("Kinh", "H'Mông",
"Việt Nam"); the record carries the codes of QCVN 109:2017 (``dantoc`` varchar(3),
``quoctich`` varchar(2)). Names are matched loosely (case, diacritics, spaces,
hyphens and apostrophes ignored) because school software spells them in many ways.

Sources:
- Ethnicity: QCVN 109:2017/BTTTT, Phụ lục E "Danh mục dân tộc Việt Nam", which is
  the list of Quyết định 1019/QĐ-TCTK (12/11/2008) of the General Statistics Office.
  Codes 01-20 were checked against the published appendix; 21-54 follow the same
  list as we read it (PROVISIONAL until checked against the printed appendix).
  The older 1979 list (Quyết định 121-TCTK/PPCĐ) numbers differently: do not mix.
- Nationality: ISO 3166-1 alpha-2, which QCVN 109:2017 uses for ``quoctich``; only
  the countries a Vietnamese primary school meets in practice have a Vietnamese
  name here, any other country is given as its two-letter code.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping

from hocbaso.errors import RecordError

# (code, official name, other spellings seen in school software)
_DAN_TOC: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("01", "Kinh", ("Việt", "Kinh (Việt)")),
    ("02", "Tày", ()),
    ("03", "Thái", ()),
    ("04", "Mường", ()),
    ("05", "Khơ Me", ("Khmer", "Khơ-me", "Khơme", "Khmer Krôm")),
    ("06", "Hoa", ("Hán", "Hoa (Hán)")),
    ("07", "Nùng", ()),
    ("08", "Mông", ("H'Mông", "Hmông", "H'mông (Mèo)", "Mèo")),
    ("09", "Dao", ()),
    ("10", "Gia Rai", ("Gia-rai", "Jrai", "Giarai")),
    ("11", "Ê Đê", ("Ê-đê", "Êđê", "Ede", "Rađê")),
    ("12", "Ba Na", ("Ba-na", "Bana", "Bahnar")),
    ("13", "Sán Chay", ("Cao Lan", "Sán Chỉ", "Cao Lan-Sán Chỉ")),
    ("14", "Chăm", ("Chàm",)),
    ("15", "Cơ Ho", ("Cơ-ho", "K'Ho", "Kơ Ho")),
    ("16", "Xơ Đăng", ("Xơ-đăng", "Sê Đăng")),
    ("17", "Sán Dìu", ()),
    ("18", "Hrê", ("H'rê",)),
    ("19", "Ra Glai", ("Ra-glai", "Raglai", "Ra Glay")),
    ("20", "Mnông", ("M'Nông", "Mơ Nông")),
    ("21", "Thổ", ()),
    ("22", "Xtiêng", ("X'tiêng", "Stiêng", "Xtiêng")),
    ("23", "Khơ Mú", ("Khơ-mú", "Khmu", "Khơmú")),
    ("24", "Bru-Vân Kiều", ("Bru Vân Kiều", "Vân Kiều", "Bru")),
    ("25", "Cơ Tu", ("Cơ-tu", "Ka Tu", "Katu")),
    ("26", "Giáy", ()),
    ("27", "Tà Ôi", ("Tà-ôi", "Ta Ôi", "Pa Cô")),
    ("28", "Mạ", ()),
    ("29", "Giẻ Triêng", ("Gié-Triêng", "Gié Triêng", "Giẻ-Triêng")),
    ("30", "Co", ("Cor",)),
    ("31", "Chơ Ro", ("Chơ-ro", "Châu Ro")),
    ("32", "Xinh Mun", ("Xinh-mun",)),
    ("33", "Hà Nhì", ()),
    ("34", "Chu Ru", ("Chu-ru", "Churu")),
    ("35", "Lào", ()),
    ("36", "Kháng", ()),
    ("37", "La Chí", ()),
    ("38", "Phù Lá", ()),
    ("39", "La Hủ", ()),
    ("40", "La Ha", ()),
    ("41", "Pà Thẻn", ()),
    ("42", "Lự", ()),
    ("43", "Ngái", ()),
    ("44", "Chứt", ()),
    ("45", "Lô Lô", ()),
    ("46", "Mảng", ()),
    ("47", "Cơ Lao", ("Cờ Lao", "Co Lao")),
    ("48", "Bố Y", ()),
    ("49", "Cống", ()),
    ("50", "Si La", ()),
    ("51", "Pu Péo", ()),
    ("52", "Rơ Măm", ("Rơ-măm",)),
    ("53", "Brâu", ()),
    ("54", "Ơ Đu", ("Ơ-đu",)),
)

#: Ethnicity code -> official name (QCVN 109:2017 Phụ lục E).
DAN_TOC: Mapping[str, str] = {code: name for code, name, _ in _DAN_TOC}

#: Vietnamese names of the nationalities a school meets; others are given as codes.
QUOC_TICH: Mapping[str, str] = {
    "VN": "Việt Nam",
    "LA": "Lào",
    "KH": "Campuchia",
    "CN": "Trung Quốc",
    "TW": "Đài Loan",
    "KR": "Hàn Quốc",
    "JP": "Nhật Bản",
    "TH": "Thái Lan",
    "SG": "Singapore",
    "MY": "Malaysia",
    "PH": "Philippines",
    "ID": "Indonesia",
    "IN": "Ấn Độ",
    "RU": "Nga",
    "US": "Hoa Kỳ",
    "CA": "Canada",
    "AU": "Úc",
    "FR": "Pháp",
    "DE": "Đức",
    "GB": "Anh",
}
_QUOC_TICH_ALIASES: Mapping[str, str] = {
    "Mỹ": "US",
    "Australia": "AU",
    "Vương quốc Anh": "GB",
    "Cộng hòa Pháp": "FR",
    "Hàn": "KR",
    "Nhật": "JP",
    "Cam-pu-chia": "KH",
}
QUOC_TICH_VIET_NAM = "VN"


def _key(name: str) -> str:
    """A spelling-insensitive key: no case, diacritics (đ = d), spaces or punctuation."""
    decomposed = unicodedata.normalize("NFD", name.strip().lower().replace("đ", "d"))
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return re.sub(r"[^0-9a-z]", "", bare)


def _index(pairs: list[tuple[str, str]]) -> dict[str, str]:
    index: dict[str, str] = {}
    for spelling, code in pairs:
        key = _key(spelling)
        if index.setdefault(key, code) != code:  # pragma: no cover - guarded by a test
            raise AssertionError(f"ambiguous spelling {spelling!r}")
    return index


_DAN_TOC_INDEX = _index(
    [(name, code) for code, name, _ in _DAN_TOC]
    + [(alias, code) for code, _, aliases in _DAN_TOC for alias in aliases]
)
_QUOC_TICH_INDEX = _index(
    [(name, code) for code, name in QUOC_TICH.items()] + list(_QUOC_TICH_ALIASES.items())
)


def ma_dan_toc(ten: str) -> str:
    """The QCVN 109 ethnicity code of a name as a school writes it ("H'Mông" -> "08").

    A two-digit code of the list is accepted as is.
    """
    value = ten.strip()
    if value in DAN_TOC:
        return value
    code = _DAN_TOC_INDEX.get(_key(value))
    if code is None:
        raise RecordError(
            f"Dân tộc {ten!r} không có trong danh mục dân tộc Việt Nam (QCVN 109:2017).",
            hint="Sửa cột dan_toc của bảng hoc_sinh theo tên trong danh mục, ví dụ Kinh, Tày, "
            "Mông, Khơ Me, hoặc ghi mã 2 chữ số (01-54).",
        )
    return code


def ma_quoc_tich(ten: str | None) -> str:
    """The nationality code (ISO 3166-1 alpha-2) of a name; empty means Việt Nam."""
    value = (ten or "").strip()
    if not value:
        return QUOC_TICH_VIET_NAM
    if re.fullmatch(r"[A-Z]{2}", value):
        return value
    code = _QUOC_TICH_INDEX.get(_key(value))
    if code is None:
        raise RecordError(
            f"Quốc tịch {ten!r} chưa có trong danh mục.",
            hint="Ghi tên quốc gia bằng tiếng Việt (ví dụ Việt Nam, Lào) hoặc mã 2 chữ cái "
            "theo ISO 3166-1 (ví dụ VN, LA) ở cột quoc_tich.",
        )
    return code
