"""Records for the verification tests: real, schema-valid, naming the demo PKI's people."""

from __future__ import annotations

from pki_fixtures import DEMO_ORGANISATION, DEMO_PEOPLE
from unit.test_render import make_record_xml

PEOPLE = {p.key: p.personal_id for p in DEMO_PEOPLE}


def demo_record(**over: object) -> bytes:
    """A grade-5 record whose GVCN is GV01, principal HT01, school the demo school."""
    names = {"soddcngvcn": PEOPLE["GV01"], "soddcngiamhieu": PEOPLE["HT01"]}
    return make_record_xml(**{**names, "tentruong": DEMO_ORGANISATION, **over})
