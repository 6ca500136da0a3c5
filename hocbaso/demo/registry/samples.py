"""Minimal record packages for exercising the registry without the whole pipeline.

A package here is the least the stand-in's own checks accept: an XML of the
record contract with the identifying fields, and a PDF that attaches those
bytes the way the printable copy does (name tree ``/EmbeddedFiles`` and the
catalog's ``/AF``). It is not signed: use it with the stand-in's default
checks (tests, benchmarks, a smoke test of ``hbs registry serve``), never as a
record.
"""

from __future__ import annotations

import io

from lxml import etree
from pyhanko.pdf_utils import embed, generic
from pyhanko.pdf_utils.writer import PdfFileWriter

from hocbaso.demo.registry.checks import NS
from hocbaso.registry.results import SubmitItem

ATTACHMENT_NAME = "hocba.xml"


def sample_xml(
    ma_hoc_ba: str,
    *,
    ho_va_ten: str = "Nguyễn Văn An",
    ma_truong: str = "79000001",
    truong: str = "Trường Tiểu học Kim Đồng",
    nam_hoc: str = "2025-2026",
) -> bytes:
    """The bytes of a minimal record XML (UTF-8, declaration included)."""
    root = etree.Element(
        f"{{{NS}}}hocba",
        nsmap={None: NS},  # type: ignore[dict-item]  # lxml accepts a default namespace
        phienbanxsd="1.0",
    )
    data = etree.SubElement(root, f"{{{NS}}}thongtinsohocbasotieuhoc", Id="hocba-du-lieu")
    for name, value in (
        ("madinhdanhhocba", ma_hoc_ba),
        ("namhoc", nam_hoc),
        ("matruong", ma_truong),
        ("tentruong", truong),
        ("hovaten", ho_va_ten),
    ):
        etree.SubElement(data, f"{{{NS}}}{name}").text = value
    etree.SubElement(root, f"{{{NS}}}chuky")
    return bytes(etree.tostring(root, encoding="UTF-8", xml_declaration=True))


def pdf_attaching(xml: bytes | None, *, padding: int = 0) -> bytes:
    """A page-less PDF that attaches ``xml`` (or nothing, when ``None``).

    ``padding`` adds a stream of that many bytes, so a benchmark can send
    packages the size of a real printable copy.
    """
    writer = PdfFileWriter()
    if padding:
        writer.add_object(generic.StreamObject(stream_data=bytes(padding)))
    if xml is not None:
        stream = embed.EmbeddedFileObject.from_file_data(
            writer, data=xml, mime_type="application/xml"
        )
        embed.embed_file(
            writer,
            embed.FileSpec(
                file_spec_string=ATTACHMENT_NAME,
                embedded_data=stream,
                af_relationship=generic.pdf_name("/Source"),
            ),
        )
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def sample_package(ma_hoc_ba: str, *, padding: int = 0, **fields: str) -> SubmitItem:
    """A record package the stand-in's own checks accept (see ``sample_xml`` for fields)."""
    xml = sample_xml(ma_hoc_ba, **fields)
    return SubmitItem(ma_hoc_ba, xml, pdf_attaching(xml, padding=padding))
