"""Configure (cấu hình): who signs which class, the principal, the seal, their keys.

Every signer's channel (key file, token or remote signing account) is opened once and
checked before anything is signed: the certificate is that person's; a homeroom
teacher is a teacher (not a clerk); the principal's role is HT; the seal's certificate
is the organisation's (no personal ID); no certificate expires before the school's last
deadline or is revoked (OCSP/CRL of its CA). Every problem is named at once: who,
which certificate, what to do. In demo mode the demo PKI (and its SoftHSM2 token) is
created or extended first. Who signs what is kept for ``v_tien_do_ky``. The result is
counts only, safe to log and publish.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass

from asn1crypto import x509 as asn1_x509
from pyhanko_certvalidator import CertificateValidator
from pyhanko_certvalidator.errors import (
    InvalidCertificateError,
    PathBuildingError,
    PathValidationError,
    RevokedError,
)

from hocbaso.errors import ConfigurationError, HocBaSoError
from hocbaso.resources import Resources, Signatory
from hocbaso.roster import MANAGER_TITLES, Roster
from hocbaso.signing.channels import Channel
from hocbaso.signing.identity import certificate_personal_id
from hocbaso.signing.roles import Role
from hocbaso.signing.trust import ServiceSession
from hocbaso.store.audit import append_events
from hocbaso.store.journal import record_signers

# Titles of staff who are not teachers and so never sign as a homeroom teacher.
NOT_TEACHERS = ("Nhân viên", "Văn thư", "Kế toán", "Thủ quỹ", "Y tế", "Bảo vệ")


@dataclass(frozen=True)
class ConfigureSummary:
    """What configure checked (no personal data)."""

    so_lop: int
    so_chung_thu_da_kiem_tra: int
    che_do_chung_thu: str
    che_do_csdl: str
    kenh: tuple[str, ...] = ()  # the channels in use: pkcs12, pkcs11, tu_xa

    def as_dict(self) -> dict[str, int | str]:
        return {
            "so_lop": self.so_lop,
            "so_chung_thu_da_kiem_tra": self.so_chung_thu_da_kiem_tra,
            "che_do_chung_thu": self.che_do_chung_thu,
            "che_do_csdl": self.che_do_csdl,
            "kenh": ",".join(self.kenh),
        }


def _cert_label(cert: asn1_x509.Certificate) -> str:
    subject = cert.subject.native
    return f"chứng thư số sê-ri {cert.serial_number:x} ({subject.get('common_name', '')})"


def role_problems(roster: Roster) -> list[str]:
    """Who may sign in which role, from the staff table's titles."""
    problems = []
    for ma_lop, person in sorted(roster.gvcn.items()):
        if person.chuc_vu in NOT_TEACHERS or person.ma_giao_vien.upper().startswith("NV"):
            problems.append(
                f"GVCN lớp {ma_lop} ({person.ma_giao_vien}) có chức vụ “{person.chuc_vu}”, không "
                "phải giáo viên: sửa cột ma_gvcn của lớp hoặc mục [gvcn] trong school.toml."
            )
    if roster.hieu_truong.chuc_vu not in MANAGER_TITLES:
        problems.append(
            f"Người ký Hiệu trưởng ({roster.hieu_truong.ma_giao_vien}) có chức vụ "
            f"“{roster.hieu_truong.chuc_vu}”: chỉ Hiệu trưởng hoặc Phó hiệu trưởng được ký."
        )
    return problems


async def _revoked_or_invalid(
    session: ServiceSession, cert: asn1_x509.Certificate, chain: tuple[asn1_x509.Certificate, ...]
) -> str | None:
    validator = CertificateValidator(
        cert,
        intermediate_certs=list(chain),
        validation_context=session.validation_context(other_certs=chain),
    )
    try:
        await validator.async_validate_usage(set())
    except RevokedError:
        return "đã bị thu hồi"
    except (PathBuildingError, PathValidationError, InvalidCertificateError) as exc:
        return f"không hợp lệ ({exc.__class__.__name__})"
    return None


async def certificate_problems(
    session: ServiceSession, who: Signatory, channel: Channel, deadline: dt.date
) -> list[str]:
    """What is wrong with one signer's certificate (empty: nothing)."""
    cert = channel.certificate
    label = _cert_label(cert)
    problems = []
    fix = "xin cấp/gia hạn chứng thư với nhà cung cấp chứng thư số rồi sửa mục [chung_thu]."
    if who.person is None:
        org = cert.subject.native.get("organization_name")
        if certificate_personal_id(cert) is not None or not org:
            problems.append(
                f"Con dấu của trường dùng {label} không phải chứng thư của tổ chức: "
                "dùng chứng thư số cấp cho nhà trường (thiết bị ký của văn thư)."
            )
    not_after = cert["tbs_certificate"]["validity"]["not_after"].native
    if not_after.date() < deadline:
        problems.append(
            f"{who.label_vi} ({who.key}): {label} hết hạn ngày {not_after:%d/%m/%Y}, trước "
            f"hạn nộp {deadline:%d/%m/%Y}; {fix}"
        )
    bad = await _revoked_or_invalid(session, cert, channel.chain)
    if bad is not None:
        problems.append(f"{who.label_vi} ({who.key}): {label} {bad}; {fix}")
    return problems


def configure(res: Resources) -> ConfigureSummary:
    """Check the roster and every signer's channel and certificate; audited as one event."""
    roster = res.roster()
    res.credentials.prepare(roster)
    problems = role_problems(roster)
    wanted: list[tuple[Role, str | None]] = [("gvcn", c) for c in roster.gvcn]
    wanted += [("ht", None), ("condau", None)]
    deadline = max(res.config.nam_hoc.han_nop_chinh, res.config.nam_hoc.han_nop_bo_sung)
    checked: dict[str, tuple[Signatory, Channel]] = {}
    kinds: set[str] = set()

    async def check_all() -> list[str]:
        async with ServiceSession(trust=res.trust) as session:
            found = []
            for who, channel in checked.values():
                found += await certificate_problems(session, who, channel, deadline)
            return found

    with res.running(pki=True):
        for role, ma_lop in wanted:
            try:
                who, channel = res.channel_for(role, ma_lop, roster)
            except HocBaSoError as exc:
                problems.append(exc.user_message())
                continue
            kinds.add(channel.kind)
            checked.setdefault(who.key, (who, channel))
        problems += asyncio.run(check_all())
    if problems:
        raise ConfigurationError(
            "Cấu hình người ký chưa đúng, chưa ký được:\n"
            + "\n".join(f"  - {p}" for p in problems),
            hint="Sửa các mục được liệt kê rồi chạy lại `hbs configure`.",
        )
    signers = [(ma_lop, "gvcn", p.ma_giao_vien) for ma_lop, p in roster.gvcn.items()]
    signers += [(ma_lop, "ht", roster.hieu_truong.ma_giao_vien) for ma_lop in roster.gvcn]
    signers += [(ma_lop, "condau", roster.giu_dau.ma_giao_vien) for ma_lop in roster.gvcn]
    summary = ConfigureSummary(
        so_lop=len(roster.gvcn),
        so_chung_thu_da_kiem_tra=len(checked),
        che_do_chung_thu=res.config.chung_thu.che_do,
        che_do_csdl=res.config.registry.che_do,
        kenh=tuple(sorted(kinds)),
    )
    with res.store.transaction() as con:
        record_signers(con, signers)
        append_events(con, "to_cong_tac", "cau_hinh", [(None, summary.as_dict())])
    return summary
