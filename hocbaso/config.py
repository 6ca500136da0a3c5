"""The workspace and its configuration (``school.toml``), loaded and validated once.

A workspace is a folder: ``school.toml`` (what the school decides), ``hbs.duckdb``
(the store) and derived files (records, reports, the demo PKI). Every path kept in
the store is relative to the workspace, so a workspace can be moved or backed up
as one folder. Nothing else in the project reads ``school.toml`` or environment
variables for settings: it asks a ``Workspace``.
"""

from __future__ import annotations

import datetime as dt
import os
import tomllib
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from hocbaso.errors import ConfigurationError

CONFIG_FILE = "school.toml"
STORE_FILE = "hbs.duckdb"
PKI_DIR = "pki"
STAND_IN_DIR = "csdl-gia-lap"
FILES_DIR = "tep"
REPORTS_DIR = "bao_cao"
SERVICE_PORTS_FILE = "cong-dich-vu.json"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Truong(_Model):
    """The school and its department (catalogue: masogd, matruong, ...)."""

    ma_truong: Annotated[str, Field(min_length=1, max_length=20)]
    ten_truong: Annotated[str, Field(min_length=1, max_length=150)]
    ma_so_gd: Annotated[str, Field(min_length=1, max_length=2)]
    ten_so_gd: Annotated[str, Field(min_length=1, max_length=150)]
    ten_huyen: str = ""
    ten_xa: Annotated[str, Field(min_length=1, max_length=150)]
    ma_xa: Annotated[str, Field(max_length=5)] = ""
    ten_tinh: Annotated[str, Field(min_length=1, max_length=150)]
    ma_tinh: Annotated[str, Field(min_length=1, max_length=2)]
    dia_danh_phat_hanh: Annotated[str, Field(min_length=1, max_length=150)]


class NamHoc(_Model):
    """The school year and its deadlines (the school's plan)."""

    nam_hoc: Annotated[str, Field(pattern=r"^\d{4}-\d{4}$")]
    ngay_ky_phat_hanh: dt.date
    han_nop_chinh: dt.date  # 16 May: students who completed the grade
    han_nop_bo_sung: dt.date  # 25 August: students assessed again in the summer

    @model_validator(mode="after")
    def _years_follow(self) -> NamHoc:
        start, end = (int(x) for x in self.nam_hoc.split("-"))
        if end != start + 1:
            raise ValueError("năm học phải là hai năm liên tiếp, ví dụ 2025-2026")
        return self

    @property
    def start_year(self) -> int:
        return int(self.nam_hoc[:4])


class NguoiKy(_Model):
    """Who signs as the school's management, and who holds the seal."""

    hieu_truong: str  # ma_giao_vien of the principal (or deputy) who signs
    chuc_vu_ky: str = "HIỆU TRƯỞNG"  # printed title, e.g. "KT. HIỆU TRƯỞNG / PHÓ HIỆU TRƯỞNG"
    giu_dau: str  # ma_giao_vien of the clerk who holds the organisation's seal


class KhoaPkcs12(_Model):
    """A key and certificate in a PKCS#12 file; the password comes from the environment."""

    loai: Literal["pkcs12"]
    tep: str  # path, relative to the workspace unless absolute
    mat_khau_env: str | None = None


class KhoaPkcs11(_Model):
    """A key on a PKCS#11 token (USB token, HSM, SoftHSM2); the PIN from the environment."""

    loai: Literal["pkcs11"]
    module: str
    token: str
    nhan_khoa: str  # key label
    nhan_chung_thu: str | None = None  # certificate label, defaults to the key label
    pin_env: str


class KhoaTuXa(_Model):
    """A person's remote signing account (ký số từ xa: VNPT SmartCA, Viettel MySign, ...).

    ``giao_thuc``: ``bat_dong_bo`` (send a batch, the person confirms on the phone, collect)
    or ``csc`` (Cloud Signature Consortium API v2). The client secret comes from the
    environment variable ``bi_mat_env``; nothing secret is written here.
    """

    loai: Literal["tu_xa"]
    giao_thuc: Literal["bat_dong_bo", "csc"] = "bat_dong_bo"
    nha_cung_cap: Annotated[str, Field(min_length=1)]  # e.g. "vnpt-smartca", "gia_lap"
    url: Annotated[str, Field(min_length=1)]
    ma_nguoi_dung: Annotated[str, Field(min_length=1)]
    client_id: str = "hocbaso"
    bi_mat_env: str
    ma_chung_thu: str | None = None  # CSC credentialID (the first one listed if not given)


Khoa = Annotated[KhoaPkcs12 | KhoaPkcs11 | KhoaTuXa, Field(discriminator="loai")]
KenhDemo = Literal["pkcs12", "pkcs11", "tu_xa"]


class ChungThuDemo(_Model):
    """Demo mode: which channel each role signs through (all three shown by default).

    The homeroom teachers sign through the remote-signing stand-in on loopback (it
    confirms by itself after ``xac_nhan_sau_giay`` seconds; ``0`` never: then confirm
    by hand with `hbs ky-tu-xa xac-nhan`), the principal with a PKCS#12 file, the seal
    on a SoftHSM2 token created in the workspace.
    """

    gvcn: KenhDemo = "tu_xa"
    ht: KenhDemo = "pkcs12"
    # The seal is the organisation's own key: a USB token (or, for trials, a key file),
    # never a person's remote-signing account; its revision attaches the final XML.
    con_dau: Literal["pkcs12", "pkcs11"] = "pkcs11"
    xac_nhan_sau_giay: Annotated[float, Field(ge=0, le=3600)] = 0.5
    giao_thuc_tu_xa: Literal["bat_dong_bo", "csc"] = "bat_dong_bo"  # the stand-in speaks both


class ChungThu(_Model):
    """Where every signing key comes from.

    ``che_do = "demo"``: a throw-away PKI in ``<workspace>/pki`` (created by
    ``hbs configure``), with its timestamp, OCSP and CRL services on loopback.
    ``che_do = "that"`` (real): each signer is listed in ``nguoi`` by ma_giao_vien,
    the seal in ``con_dau``, the timestamp authority at ``tsa_url``.
    """

    che_do: Literal["demo", "that"] = "demo"
    nguoi: dict[str, Khoa] = Field(default_factory=dict)
    con_dau: Annotated[KhoaPkcs12 | KhoaPkcs11, Field(discriminator="loai")] | None = None
    tsa_url: str | None = None
    tin_cay: list[str] = Field(default_factory=list)  # trusted root certificate files (PEM)
    demo: ChungThuDemo = Field(default_factory=ChungThuDemo)


class KyTuXa(_Model):
    """Remote signing: how long one run waits for confirmations, how often it asks.

    What is still waiting after ``cho_xac_nhan_giay`` stays in the signing journal and
    the next run collects it (nobody is asked again).
    """

    cho_xac_nhan_giay: Annotated[float, Field(ge=0, le=24 * 3600)] = 300.0
    hoi_trang_thai_giay: Annotated[float, Field(gt=0, le=600)] = 1.0


class Duyet(_Model):
    """The principal's approval (duyệt) before signing a class.

    Normally the run pauses and asks (a form in the Prefect UI, or `hbs duyet`).
    ``duyet_truoc = true`` gives the approval in advance (the demo, a deadline run);
    the audit log says so for every class it covers.
    """

    duyet_truoc: bool = False
    cho_duyet_giay: Annotated[int, Field(ge=1)] = 3600  # how long a paused run waits


class Registry(_Model):
    """CSDL Học bạ số: the stand-in on loopback (``gia_lap``), or the real service.

    For the stand-in, ``url`` is optional: its port is only the preferred one, taken if
    free (default 18765); the port actually used is recorded in the workspace
    (``Workspace.service_ports_path``). The real service needs ``url`` and ``tra_cuu_url``.
    """

    che_do: Literal["gia_lap", "that"] = "gia_lap"
    url: str | None = None
    client_id: str = "demo"
    client_secret_env: str = "HBS_REGISTRY_SECRET"
    tra_cuu_url: str | None = None  # public lookup page printed on paper
    dong_thoi: Annotated[int, Field(ge=1, le=32)] = 4  # requests in flight

    @model_validator(mode="after")
    def _real_needs_addresses(self) -> Registry:
        if self.che_do == "that" and (not self.url or not self.tra_cuu_url):
            raise ValueError(
                'với che_do = "that" phải khai báo url (địa chỉ API) và tra_cuu_url '
                "(trang tra cứu in trên bản giấy) do Sở/Bộ cấp"
            )
        return self


class SchoolConfig(_Model):
    """Everything ``school.toml`` holds."""

    truong: Truong
    nam_hoc: NamHoc
    ky: NguoiKy
    gvcn: dict[str, str] = Field(default_factory=dict)  # class -> ma_giao_vien (overrides lop)
    chung_thu: ChungThu = Field(default_factory=ChungThu)
    registry: Registry = Field(default_factory=Registry)
    duyet: Duyet = Field(default_factory=Duyet)
    ky_tu_xa: KyTuXa = Field(default_factory=KyTuXa)


def _describe(error: ValidationError) -> str:
    lines = []
    for err in error.errors():
        where = ".".join(str(p) for p in err["loc"])
        lines.append(f"  - mục [{where}]: {err['msg']}")
    return "\n".join(lines)


class Workspace:
    """A school's workspace folder."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root).resolve()

    @property
    def config_path(self) -> Path:
        return self.root / CONFIG_FILE

    @property
    def store_path(self) -> Path:
        return self.root / STORE_FILE

    @property
    def pki_dir(self) -> Path:
        """The demo PKI (keys, certificates): demo mode only, no legal value."""
        return self.root / PKI_DIR

    @property
    def registry_stand_in_dir(self) -> Path:
        """What the stand-in registry received (demo mode only)."""
        return self.root / STAND_IN_DIR

    @property
    def files_dir(self) -> Path:
        """Every record's XML and PDF, content-addressed."""
        return self.root / FILES_DIR

    @property
    def reports_dir(self) -> Path:
        """Statistics workbooks and data-check reports."""
        return self.root / REPORTS_DIR

    @property
    def service_ports_path(self) -> Path:
        """The loopback ports this workspace's demo services use (chosen once, kept)."""
        return self.root / SERVICE_PORTS_FILE

    def path(self, relative: str | Path) -> Path:
        """Absolute path of something the store refers to relative to the workspace."""
        p = Path(relative)
        return p if p.is_absolute() else self.root / p

    def relative(self, path: Path) -> str:
        """The workspace-relative form of ``path`` that the store keeps."""
        return path.resolve().relative_to(self.root).as_posix()

    def load_config(self) -> SchoolConfig:
        """Read and validate ``school.toml``; every problem in one Vietnamese message."""
        if not self.config_path.is_file():
            raise ConfigurationError(
                f"Không tìm thấy tệp cấu hình {self.config_path}.",
                hint="Chạy `hbs demo` để tạo một thư mục làm việc mẫu (có school.toml), hoặc chép "
                "hocbaso/demo/data/school.toml vào thư mục làm việc và sửa theo thông tin của "
                "trường.",
            )
        try:
            raw = tomllib.loads(self.config_path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigurationError(
                f"Tệp cấu hình {self.config_path.name} không đọc được: {exc}",
                hint="Mở tệp bằng trình soạn thảo văn bản, sửa dòng được chỉ ra và lưu dạng UTF-8.",
            ) from exc
        try:
            return SchoolConfig.model_validate(raw)
        except ValidationError as exc:
            raise ConfigurationError(
                f"Tệp cấu hình {self.config_path.name} chưa đúng:\n{_describe(exc)}",
                hint="Sửa các mục được liệt kê rồi chạy lại.",
            ) from exc


def secret_from_env(name: str | None, what: str) -> str | None:
    """A secret (PIN, password, client secret) from the environment, never from a file."""
    if name is None:
        return None
    value = os.environ.get(name)
    if value is None:
        raise ConfigurationError(
            f"Chưa có {what}: biến môi trường {name} chưa được đặt.",
            hint=f"Đặt biến môi trường {name} (hoặc một Secret block của Prefect) rồi chạy lại.",
        )
    return value
