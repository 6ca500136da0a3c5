"""The record XML inside the printable copy (``hocba.xml``) follows the signed XML.

At lock the PDF/A-3 file attaches the frozen XML (empty ``<chuky/>``). Each signer then
signs the XML (XAdES) and the PDF (PAdES); in the same incremental revision as its PAdES
signature, the attachment is replaced by the XML as signed so far, so the PDF signature
covers the XML it carries and, after the seal, the PDF carries exactly the final signed
XML (``pdfdetach -save 1`` gives the bytes the store and the registry hold).

A later revision that replaces the attachment changes the document after the earlier
PDF signatures, so pyHanko's difference analysis must be told what is allowed: the
``SignedXmlUpdateRule`` whitelists, after a signature, exactly one change: the file
specification of ``hocba.xml`` points to a new embedded-file stream (same type, size
and checksum parameters true to the data) whose XML is the previous one with more
signatures appended (``is_signed_successor``). ``RECORD_DIFF_POLICY`` is pyHanko's
default policy plus this rule; any other change is still a modification.

Why a new stream object (and not the old one rewritten in place): pyHanko's writer has
a public API for adding an embedded file and updating its container, none for
replacing a stream's data; the catalog, the name tree and ``/AF`` keep pointing to the
same file specification either way.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable
from typing import Any

from lxml import etree
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.embed import EmbeddedFileObject, EmbeddedFileParams
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import HistoricalResolver
from pyhanko.sign.diff_analysis import (
    DEFAULT_DIFF_POLICY,
    ModificationLevel,
    QualifiedWhitelistRule,
    ReferenceUpdate,
    StandardDiffPolicy,
)
from pyhanko.sign.diff_analysis.commons import compare_dicts

from hocbaso.errors import RecordError
from hocbaso.record.xml import data_digest_of
from hocbaso.render import ATTACHMENT_NAME
from hocbaso.signing.roles import ROLE_NAMES, ROLES, Role
from hocbaso.signing.xml_signature import CHUKY_TAG, SIGNATURE_TAG, parse_record, signature_id

_SIGNATURE_ORDER = [signature_id(r) for r in ROLES]
# What an embedded-file stream of ours may hold; anything else is not a plain XML file.
_STREAM_KEYS = frozenset({"/Type", "/Subtype", "/Params", "/Length", "/Filter", "/DecodeParms"})
_PARAM_KEYS = frozenset({"/Size", "/CheckSum", "/ModDate", "/CreationDate"})


def _signature_ids(root: Any) -> list[str] | None:
    """Ids of the signatures in ``chuky``; ``None`` if it holds anything but signatures."""
    chuky = root.find(CHUKY_TAG)
    if chuky is None or (chuky.text or "").strip():
        return None
    ids = []
    for child in chuky:
        if child.tag != SIGNATURE_TAG or (child.tail or "").strip():
            return None
        ids.append(str(child.get("Id")))
    return ids


def is_signed_successor(previous: bytes, current: bytes) -> bool:
    """``current`` is ``previous`` with one or more signatures appended, nothing else changed.

    Precisely: the same data element (``hocbaso.record.data_digest``); the signature Ids
    of ``current`` strictly extend those of ``previous`` and follow the signing order
    (``chuky-gvcn``, ``chuky-ht``, ``chuky-condau``); and with the appended signatures
    taken out, ``current`` canonicalises (C14N, comments and processing instructions
    included) to exactly what ``previous`` does, so the earlier signatures and every
    other byte of meaning are unchanged. Whether the appended signatures are valid is
    the XML verification's business, not this function's.
    """
    return _successor_ids(previous, current) is not None


def _successor_ids(previous: bytes, current: bytes) -> list[str] | None:
    """The signature Ids of ``current`` if it ``is_signed_successor`` of ``previous``,
    else ``None``.

    Each document is parsed once (signing asks for the Ids too, and parsing a record
    costs as much as the comparison): ``parse_record`` and ``data_digest`` parse alike,
    so the data digests are taken from these trees; the appended signatures are taken
    out of ``current``'s own tree, which nothing else holds.
    """
    try:
        old_root, new_root = parse_record(previous), parse_record(current)
        if data_digest_of(old_root) != data_digest_of(new_root):
            return None
    except RecordError:
        return None
    old_ids, new_ids = _signature_ids(old_root), _signature_ids(new_root)
    if old_ids is None or new_ids is None:
        return None
    if len(new_ids) <= len(old_ids) or new_ids[: len(old_ids)] != old_ids:
        return None
    if new_ids != _SIGNATURE_ORDER[: len(new_ids)]:
        return None
    trimmed = new_root.getroottree()
    chuky = new_root.find(CHUKY_TAG)
    for appended in list(chuky)[len(old_ids) :]:
        chuky.remove(appended)
    old_c14n = etree.tostring(old_root.getroottree(), method="c14n")
    if old_c14n != etree.tostring(trimmed, method="c14n"):
        return None
    return new_ids


def _filespec(root: generic.DictionaryObject) -> generic.IndirectObject | None:
    """The (indirect) file specification named ``hocba.xml`` in the catalog's flat
    ``/EmbeddedFiles`` name tree, as the renderer writes it; ``None`` if absent or named
    more than once."""
    try:
        names = root["/Names"]["/EmbeddedFiles"]["/Names"]
    except KeyError:
        return None
    found = [
        names.raw_get(i + 1)
        for i in range(0, len(names) - 1, 2)
        if isinstance(names[i], generic.TextStringObject | generic.ByteStringObject)
        and str(names[i]) == ATTACHMENT_NAME
    ]
    if len(found) != 1 or not isinstance(found[0], generic.IndirectObject):
        return None
    return found[0]


def _embedded_stream_ref(spec: generic.DictionaryObject) -> generic.Reference | None:
    """The one stream the file specification's direct ``/EF`` dictionary points to."""
    ef = spec.raw_get("/EF") if "/EF" in spec else None
    if not isinstance(ef, generic.DictionaryObject) or not ef:
        return None
    refs = {ef.raw_get(k) for k in ef}
    if len(refs) != 1:
        return None
    (only,) = refs
    return only.reference if isinstance(only, generic.IndirectObject) else None


def _params_are_true(stream: generic.StreamObject, data: bytes) -> bool:
    params = stream.get("/Params", generic.DictionaryObject())
    if not isinstance(params, generic.DictionaryObject) or not set(params) <= _PARAM_KEYS:
        return False
    if "/Size" in params and params["/Size"] != len(data):
        return False
    if "/CheckSum" in params:
        checksum = params["/CheckSum"]
        if getattr(checksum, "original_bytes", None) != hashlib.md5(data).digest():
            return False
    return True


class SignedXmlUpdateRule(QualifiedWhitelistRule):
    """pyHanko diff rule: after a signature, ``hocba.xml`` may become the XML with more
    signatures appended (``is_signed_successor``), nothing else.

    Cleared at ``FORM_FILLING``, the level of adding a signature: filling in the record's
    signatures is what the replacement does. Clears the file specification (only its
    ``/EF`` may differ, and only by pointing to a stream new in this revision) and that
    stream (an ``/EmbeddedFile`` of the same ``/Subtype``, with ``/Params`` that match
    its data).
    """

    def apply_qualified(
        self, old: HistoricalResolver, new: HistoricalResolver
    ) -> Iterable[tuple[ModificationLevel, ReferenceUpdate]]:
        try:
            cleared = self._cleared(old, new)
        except (PdfError, KeyError, TypeError, ValueError, AttributeError):
            cleared = []  # unreadable: approve nothing, the change stays unexplained
        for ref in cleared:
            yield ModificationLevel.FORM_FILLING, ReferenceUpdate(ref)

    @staticmethod
    def _cleared(old: HistoricalResolver, new: HistoricalResolver) -> list[generic.Reference]:
        in_revision = new.explicit_refs_in_revision()
        old_spec_obj, new_spec_obj = _filespec(old.root), _filespec(new.root)
        if old_spec_obj is None or new_spec_obj is None:
            return []
        spec_ref = old_spec_obj.reference
        if new_spec_obj.reference != spec_ref or spec_ref not in in_revision:
            return []
        old_spec, new_spec = old(spec_ref), new(spec_ref)
        if not compare_dicts(old_spec, new_spec, frozenset({"/EF"}), raise_exc=False):
            return []
        old_ef, new_ef = old_spec.raw_get("/EF"), new_spec.raw_get("/EF")
        if not isinstance(old_ef, generic.DictionaryObject) or set(old_ef) != set(new_ef):
            return []
        old_ref, new_ref = _embedded_stream_ref(old_spec), _embedded_stream_ref(new_spec)
        if old_ref is None or new_ref is None:
            return []
        if new_ref not in in_revision or not old.is_ref_unassignable(new_ref):
            return []  # the new XML must be a stream written by this very revision
        old_stream, new_stream = old(old_ref), new(new_ref)
        if not isinstance(new_stream, generic.StreamObject) or not set(new_stream) <= _STREAM_KEYS:
            return []
        if new_stream.get("/Type") != "/EmbeddedFile" or new_stream.get(
            "/Subtype"
        ) != old_stream.get("/Subtype"):
            return []
        current = new_stream.data
        if not _params_are_true(new_stream, current):
            return []
        if not is_signed_successor(old_stream.data, current):
            return []
        return [spec_ref, new_ref]


RECORD_DIFF_POLICY = StandardDiffPolicy(
    global_rules=[*DEFAULT_DIFF_POLICY.global_rules, SignedXmlUpdateRule()],
    form_rule=DEFAULT_DIFF_POLICY.form_rule,
)
"""pyHanko's default difference policy plus ``SignedXmlUpdateRule``: what may change in a
record's PDF after a signature (signatures, validation data, the signed XML)."""


def attach_signed_xml(
    writer: IncrementalPdfFileWriter, signed_xml: bytes, role: Role, when: dt.datetime
) -> None:
    """Replace ``hocba.xml`` in ``writer``'s pending revision by ``signed_xml``.

    ``signed_xml`` must be the XML the PDF carries now with exactly ``role``'s signature
    appended (checked here, so a PDF never carries an XML its signers did not sign in
    order). The new stream keeps the old one's MIME subtype and records size, MD5
    checksum and ``when`` as modification date (PDF/A-3 associated file parameters).
    """
    spec_obj = _filespec(writer.root)
    spec = spec_obj.get_object() if spec_obj is not None else None
    if not isinstance(spec, generic.DictionaryObject):
        spec = None
    stream_ref = _embedded_stream_ref(spec) if spec is not None else None
    old_stream = stream_ref.get_object() if stream_ref is not None else None
    if spec is None or not isinstance(old_stream, generic.StreamObject):
        raise RecordError(
            f"Bản PDF không có tệp {ATTACHMENT_NAME} đính kèm theo đúng cách hệ thống tạo.",
            hint="Tạo lại bản thể hiện (PDF) ở bước chốt dữ liệu rồi ký lại.",
        )
    try:
        previous = old_stream.data
    except PdfError as exc:
        raise RecordError(
            f"Không đọc được tệp {ATTACHMENT_NAME} đính kèm trong bản PDF.",
            hint="Tạo lại bản thể hiện (PDF) ở bước chốt dữ liệu rồi ký lại.",
        ) from exc
    wanted = _SIGNATURE_ORDER[: ROLES.index(role) + 1]
    if _successor_ids(previous, signed_xml) != wanted:
        raise RecordError(
            f"Tệp XML đem ký ({ROLE_NAMES[role]}) không phải tệp XML bản PDF đang mang "
            "cộng thêm đúng chữ ký này.",
            hint="Không ký tiếp; chạy `hbs verify` và báo cho tổ công tác.",
        )
    stream = EmbeddedFileObject.from_file_data(
        writer,
        signed_xml,
        compress=True,
        params=EmbeddedFileParams(embed_size=True, embed_checksum=True, modification_date=when),
    )
    if "/Subtype" in old_stream:
        stream["/Subtype"] = old_stream["/Subtype"]
    ef = spec.raw_get("/EF")
    for key in list(ef):
        ef[key] = stream.ef_stream_ref
    writer.update_container(spec)
