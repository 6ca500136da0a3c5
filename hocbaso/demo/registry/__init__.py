"""The stand-in CSDL Học bạ số: a real HTTP server that follows docs/registry-api.md.

Used by the tests (in a background thread on 127.0.0.1) and by the demo
(``hbs registry serve``). It persists what it receives in SQLite, checks every
record (its own checks plus a pluggable ``Verifier``) and injects faults on
request. Importing it pulls in FastAPI and uvicorn; ``hocbaso.registry`` (the
client) does not.
"""

from hocbaso.demo.registry.app import SchoolClient
from hocbaso.demo.registry.checks import RecordFacts, Verifier, basic_checks, embedded_files
from hocbaso.demo.registry.faults import Faults
from hocbaso.demo.registry.samples import pdf_attaching, sample_package, sample_xml
from hocbaso.demo.registry.server import (
    DEFAULT_PORT,
    DEMO_CLIENT_ID,
    DEMO_SECRET,
    SECRET_ENV,
    RunningServer,
    StandinServer,
    main,
    serve_forever,
    serve_standin,
)
from hocbaso.demo.registry.storage import Storage

__all__ = [
    "DEFAULT_PORT",
    "DEMO_CLIENT_ID",
    "DEMO_SECRET",
    "SECRET_ENV",
    "Faults",
    "RecordFacts",
    "RunningServer",
    "SchoolClient",
    "StandinServer",
    "Storage",
    "Verifier",
    "basic_checks",
    "embedded_files",
    "main",
    "pdf_attaching",
    "sample_package",
    "sample_xml",
    "serve_forever",
    "serve_standin",
]
