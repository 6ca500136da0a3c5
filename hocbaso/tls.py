"""One TLS client context per process for every HTTP client the project opens.

Why: an ``httpx.Client`` builds its own ``ssl.SSLContext`` and loads the whole CA
bundle into it (certifi's ~150 roots): about 0.8 MB of the C heap and 26 ms on this
machine, for every client. The remote-signing adapters open one client per person's
account, and the signing channels stay open for the run (``Resources.channel_for``), so
a 10,000-pupil school (286 homeroom teachers) carried 286 copies of the same roots,
~240 MB of the parent's memory from ``hbs configure`` to the end of the plan. The roots
and the verification rules are the same for every client, and an ``SSLContext`` may be
shared by connections of any thread, so the context is made once and handed to each
client; each client keeps its own connection pool.

The context is httpx's default (``httpx.create_ssl_context``: certifi's roots, or
``SSL_CERT_FILE`` / ``SSL_CERT_DIR`` when set), read when the first client is opened.
"""

from __future__ import annotations

import ssl
import threading

import httpx

_CONTEXT: ssl.SSLContext | None = None
_LOCK = threading.Lock()


def client_context() -> ssl.SSLContext:
    """This process's TLS context for HTTP clients (pass it as ``httpx.Client(verify=...)``)."""
    global _CONTEXT
    with _LOCK:
        if _CONTEXT is None:
            _CONTEXT = httpx.create_ssl_context()
        return _CONTEXT
