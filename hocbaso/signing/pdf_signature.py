"""The three PAdES signatures of the printable copy: GVCN, HT, then the seal (B-LT).

Each signature is an incremental update with an invisible field (``ChuKyGVCN``,
``ChuKyHT``, ``ChuKyConDau``): nothing earlier is rewritten, and no appearance
stream is drawn (visible stamps with Vietnamese text cost 90-350 ms each and the
rendered page already shows the signature blocks), so the PDF/A-3 file stays as it
was rendered. The same revision replaces the attached ``hocba.xml`` by the XML as
signed so far (``signed_xml``, see ``hocbaso.signing.attachment``): each PAdES
signature covers the XML the PDF carries, and the sealed PDF carries the final
signed XML byte for byte. The GVCN and HT signatures are PAdES B-B; the seal is PAdES B-LT: a
signature timestamp from the TSA, and the revocation data of its chain stored in the
document security store, so it can be validated later without the network.

For batches, sign inside one event loop with one ``ServiceSession`` (timestamps and
revocation fetching share its HTTP session); ``sign_record_pdf`` is the one-off form.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from io import BytesIO

from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.fields import SigFieldSpec, SigSeedSubFilter
from pyhanko.sign.general import SigningError as PyHankoSigningError
from pyhanko.sign.signers.pdf_signer import PdfSignatureMetadata, PdfSigner
from pyhanko.sign.timestamps.common_utils import TimestampRequestError
from pyhanko_certvalidator.errors import PathBuildingError, PathValidationError

from hocbaso.errors import RecordError, SigningError
from hocbaso.signing.attachment import attach_signed_xml
from hocbaso.signing.roles import ROLE_NAMES, Role, check_order, check_role
from hocbaso.signing.signers import RecordSigner
from hocbaso.signing.trust import ServiceSession, TrustSettings

FIELD_NAMES: dict[Role, str] = {"gvcn": "ChuKyGVCN", "ht": "ChuKyHT", "condau": "ChuKyConDau"}
# Space kept for the CMS blob (pyHanko counts hex digits, two per byte). Reserving it
# avoids a dry-run signature per record; too small fails loudly, too large only pads.
_CMS_OVERHEAD = 2048  # signed attributes, signature value, structure
_TIMESTAMP_TOKEN = 8192  # a TSA token with the TSA's chain


def _bytes_reserved(signer: RecordSigner, role: Role) -> int:
    certs = len(signer.certificate.dump()) + sum(len(c.dump()) for c in signer.chain)
    size = certs + _CMS_OVERHEAD + (_TIMESTAMP_TOKEN if role == "condau" else 0)
    return 2 * size


def signature_fields(pdf: bytes) -> list[str]:
    """Names of the filled signature fields, in form order (the order they were signed).

    Reads the form's field dictionaries only: resolving each signature value would
    parse its /Contents hex string, which costs tens of milliseconds per signature in
    pure Python. Every field here is created and signed in one step, so form order is
    signing order; verification reads the signatures themselves.
    """
    try:
        reader = PdfFileReader(BytesIO(pdf), strict=False)
        form = reader.root.get("/AcroForm")
        if form is None:
            return []
        names = []
        for ref in form.get_object().get("/Fields", []):
            field = ref.get_object()
            if field.get("/FT") == "/Sig" and "/V" in field:
                names.append(str(field.get("/T")))
        return names
    except (PdfError, ValueError, KeyError) as exc:
        raise RecordError(
            "Tệp PDF của học bạ không đọc được.",
            hint="Tạo lại bản thể hiện (PDF) ở bước chốt dữ liệu rồi ký lại.",
        ) from exc


def _roles_present(pdf: bytes) -> list[str | None]:
    by_field = {name: role for role, name in FIELD_NAMES.items()}
    return [by_field.get(name, name) for name in signature_fields(pdf)]


async def async_sign_record_pdf(
    pdf: bytes,
    signer: RecordSigner,
    role: Role,
    *,
    signed_xml: bytes,
    session: ServiceSession | None = None,
) -> bytes:
    """Append the ``role`` signature as an incremental update that also attaches
    ``signed_xml`` (the record XML just signed by ``role``: the attached XML plus that
    one signature, else RecordError); the seal needs ``session`` with a TSA URL and
    trust settings (for its timestamp and revocation data).
    """
    role = check_role(role)
    check_order(_roles_present(pdf), role, "bản PDF của học bạ")
    field_name = FIELD_NAMES[role]
    timestamper = None
    meta_options: dict[str, object] = {}
    if role == "condau":
        if session is None or session.timestamper is None:
            raise SigningError(
                "Đóng dấu bản PDF cần dấu thời gian nhưng chưa cấu hình dịch vụ cấp dấu thời gian.",
                hint="Đặt tsa_url trong mục [chung_thu] của school.toml (chế độ demo tự có TSA).",
            )
        timestamper = session.timestamper
        meta_options = {
            "embed_validation_info": True,
            "validation_context": session.validation_context(),
        }
    meta = PdfSignatureMetadata(
        field_name=field_name,
        md_algorithm="sha256",
        subfilter=SigSeedSubFilter.PADES,
        reason=ROLE_NAMES[role],
        **meta_options,  # type: ignore[arg-type]
    )
    pdf_signer = PdfSigner(
        meta,
        signer.pdf_signer,
        timestamper=timestamper,
        new_field_spec=SigFieldSpec(sig_field_name=field_name),
    )
    try:
        writer = IncrementalPdfFileWriter(BytesIO(pdf), strict=False)
        attach_signed_xml(writer, signed_xml, role, dt.datetime.now(dt.UTC))
        output = await pdf_signer.async_sign_pdf(
            writer, bytes_reserved=_bytes_reserved(signer, role), output=BytesIO()
        )
    except TimestampRequestError as exc:
        raise SigningError(
            "Không lấy được dấu thời gian từ dịch vụ cấp dấu thời gian (TSA).",
            hint="Kiểm tra kết nối mạng và địa chỉ TSA rồi đóng dấu lại; "
            "ở chế độ demo, dịch vụ PKI thử nghiệm phải đang chạy.",
        ) from exc
    except (PathBuildingError, PathValidationError) as exc:
        raise SigningError(
            f"Chứng thư của người ký ({ROLE_NAMES[role]}) không hợp lệ hoặc đã bị thu hồi.",
            hint="Kiểm tra thời hạn và trạng thái chứng thư với nhà cung cấp chứng thư số.",
        ) from exc
    except (PyHankoSigningError, PdfError) as exc:
        raise SigningError(
            f"Không ký được bản PDF của học bạ ({ROLE_NAMES[role]}).",
            hint="Kiểm tra tệp PDF và khoá của người ký; nếu lỗi lặp lại, báo cho quản trị.",
        ) from exc
    result: bytes = output.getvalue()
    return result


def sign_record_pdf(
    pdf: bytes,
    signer: RecordSigner,
    role: Role,
    *,
    signed_xml: bytes,
    tsa_url: str | None = None,
    trust: TrustSettings | None = None,
) -> bytes:
    """One-off synchronous form (opens and closes its own HTTP session)."""

    async def run() -> bytes:
        async with ServiceSession(tsa_url=tsa_url, trust=trust) as session:
            return await async_sign_record_pdf(
                pdf, signer, role, signed_xml=signed_xml, session=session
            )

    return asyncio.run(run())
