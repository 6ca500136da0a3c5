"""The independent tools the tests ask for a second opinion (Debian packages)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

NS = "urn:hocbaso:hocba:1"
DS = "http://www.w3.org/2000/09/xmldsig#"
XADES = "http://uri.etsi.org/01903/v1.3.2#"
SIGNATURE_IDS = ("chuky-gvcn", "chuky-ht", "chuky-condau")


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), capture_output=True, text=True, check=False)


def xmllint_schema(xml: Path, xsd: Path) -> subprocess.CompletedProcess[str]:
    return run("xmllint", "--noout", "--schema", str(xsd), str(xml))


def xmlsec_verify(xml: Path, root_pem: Path, node_id: str) -> subprocess.CompletedProcess[str]:
    """xmlsec1 on one signature of a record, told which attributes are IDs."""
    return run(
        "xmlsec1",
        "--verify",
        "--trusted-pem",
        str(root_pem),
        "--id-attr:Id",
        f"{NS}:thongtinsohocbasotieuhoc",
        "--id-attr:Id",
        f"{DS}:Signature",
        "--id-attr:Id",
        f"{DS}:KeyInfo",
        "--id-attr:Id",
        f"{XADES}:SignedProperties",
        "--node-id",
        node_id,
        str(xml),
    )


def pdfsig_valid_count(pdf: Path) -> tuple[int, int, str]:
    """(signatures found, signatures poppler calls valid, raw output)."""
    out = run("pdfsig", str(pdf)).stdout
    found = len(re.findall(r"^Signature #\d+:", out, flags=re.M))
    valid = out.count("Signature Validation: Signature is Valid.")
    return found, valid, out


def qpdf_check(pdf: Path) -> subprocess.CompletedProcess[str]:
    return run("qpdf", "--check", str(pdf))


def pdfdetach_first(pdf: Path, out: Path) -> bytes:
    """The first embedded file of ``pdf`` as poppler's pdfdetach saves it (``-save 1``)."""
    result = run("pdfdetach", "-save", "1", "-o", str(out), str(pdf))
    assert result.returncode == 0, result.stderr
    return out.read_bytes()
