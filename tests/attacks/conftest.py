"""One record sealed as the pipeline seals it, shared by the verification tests."""

from __future__ import annotations

import asyncio

import pytest
from conftest_helpers import demo_record
from corpus import seal_record

from hocbaso.demo.pki import DemoPki, load_demo_signer
from hocbaso.render import RecordRenderer
from hocbaso.signing import TrustSettings


@pytest.fixture(scope="session")
def renderer() -> RecordRenderer:
    return RecordRenderer(pdf_tags=False)


@pytest.fixture(scope="session")
def sealed(
    demo_pki: DemoPki,
    demo_pki_services: object,
    demo_trust: TrustSettings,
    renderer: RecordRenderer,
) -> tuple[bytes, bytes]:
    """One record sealed as ``hocbaso.issue`` seals it (XAdES-LTA, PAdES B-LTA)."""
    xml = demo_record()
    signers = {
        r: load_demo_signer(demo_pki, k)
        for r, k in (("gvcn", "GV01"), ("ht", "HT01"), ("condau", "con-dau"))
    }
    return asyncio.run(seal_record(xml, renderer.render(xml), signers, demo_pki, demo_trust))
