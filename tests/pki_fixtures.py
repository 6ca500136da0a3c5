"""Fixtures for a throw-away demo PKI with its services running on loopback.

Session-scoped: the keys are generated once (a few seconds), the TSA/OCSP/CRL
services run for the whole session. Import the fixtures into a test module, or list
this module in ``pytest_plugins`` of ``tests/conftest.py``.

    demo_pki            DemoPki with a homeroom teacher (GV01), a principal (HT01),
                        a teacher whose certificate tests may revoke (GV99) and the seal
    demo_pki_services   the running DemoPkiServices of demo_pki
    demo_trust          TrustSettings trusting the demo root (online revocation, hard-fail)
    gvcn_signer, ht_signer, seal_signer   RecordSigners, loaded once
    record_xml          a small unsigned record XML (bytes) following docs/record-xml.md
    record_pdf          a small PDF/A-3b (bytes), compiled with Typst, attaching record_xml
                        (``pdf_attaching(xml)`` makes one for another XML)
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
import typst

from hocbaso.demo.pki import DemoIdentity, DemoPki, create_demo_pki, load_demo_signer
from hocbaso.demo.pki_services import DemoPkiServices
from hocbaso.signing import RecordSigner, TrustSettings

DEMO_ORGANISATION = "Trường Tiểu học Kim Đồng"
DEMO_PEOPLE = [
    DemoIdentity("GV01", "Nguyễn Thị Hoa", "001190000001", "Giáo viên"),
    DemoIdentity("HT01", "Trần Văn Minh", "001180000002", "Hiệu trưởng"),
    DemoIdentity("GV98", "Đỗ Văn Thu", "001190000098", "Giáo viên"),  # revoked: pki tests
    DemoIdentity("GV99", "Lê Thị Thu Hồi", "001190000099", "Giáo viên"),  # revoked: xml tests
]

RECORD_XML = """<?xml version="1.0" encoding="UTF-8"?>
<hocba xmlns="urn:hocbaso:hocba:1" phienbanxsd="1.0">
  <thongtinsohocbasotieuhoc Id="hocba-du-lieu">
    <trangthaithongtinhocba>1</trangthaithongtinhocba>
    <trichluc>0</trichluc>
    <madinhdanhhocba>6f1c2d3e-0000-4000-8000-000000000001</madinhdanhhocba>
    <hoten>Phạm Thị Mười Một</hoten>
    <tentruong>Trường Tiểu học Kim Đồng</tentruong>
    <soddcngiamhieu>001180000002</soddcngiamhieu>
    <soddcngvcn>001190000001</soddcngvcn>
    <dsbangdiem>
      <bangdiem><mamonhoc>TV</mamonhoc><tenmonhoc>Tiếng Việt</tenmonhoc>
        <mucdatduoc>T</mucdatduoc><diemkiemtradinhky>9</diemkiemtradinhky></bangdiem>
    </dsbangdiem>
  </thongtinsohocbasotieuhoc>
  <chuky/>
</hocba>
""".encode()


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def demo_pki(tmp_path_factory: pytest.TempPathFactory) -> DemoPki:
    """A fresh demo PKI for the test session."""
    directory = tmp_path_factory.mktemp("pki")
    return create_demo_pki(directory, DEMO_PEOPLE, DEMO_ORGANISATION, port=free_port())


@pytest.fixture(scope="session")
def demo_pki_services(demo_pki: DemoPki) -> Iterator[DemoPkiServices]:
    """TSA, OCSP, CRL and CA certificates of ``demo_pki`` served on loopback."""
    with DemoPkiServices(demo_pki) as services:
        yield services


@pytest.fixture(scope="session")
def demo_trust(demo_pki: DemoPki) -> TrustSettings:
    """Trust the demo root; revocation checked online, hard-fail."""
    return TrustSettings.from_files([demo_pki.root_certificate])


@pytest.fixture(scope="session")
def gvcn_signer(demo_pki: DemoPki) -> RecordSigner:
    return load_demo_signer(demo_pki, "GV01")


@pytest.fixture(scope="session")
def ht_signer(demo_pki: DemoPki) -> RecordSigner:
    return load_demo_signer(demo_pki, "HT01")


@pytest.fixture(scope="session")
def seal_signer(demo_pki: DemoPki) -> RecordSigner:
    return load_demo_signer(demo_pki, "con-dau")


@pytest.fixture(scope="session")
def record_xml() -> bytes:
    return RECORD_XML


def pdf_attaching(xml: bytes) -> bytes:
    """A small PDF/A-3b compiled with Typst that attaches ``xml`` as ``hocba.xml`` the way
    the renderer does (associated file, relationship Data): what signing replaces."""
    source = (
        '#set document(title: "Học bạ số (kiểm thử)", author: "hocbaso")\n'
        '#pdf.attach("hocba.xml", bytes(sys.inputs.xml), relationship: "data",\n'
        '  mime-type: "application/xml", description: "Dữ liệu học bạ số (XML)")\n'
        "= Học bạ số\nBản thể hiện dùng để kiểm thử chữ ký.\n"
    )
    pdf: bytes = typst.compile(
        source.encode(),
        format="pdf",
        pdf_standards=["a-3b"],
        sys_inputs={"xml": xml.decode("utf-8")},
    )
    return pdf


@pytest.fixture(scope="session")
def record_pdf() -> bytes:
    return pdf_attaching(RECORD_XML)


def write(tmp: Path, name: str, data: bytes) -> Path:
    """Write ``data`` to ``tmp/name`` for a command-line tool and return the path."""
    path = tmp / name
    path.write_bytes(data)
    return path
