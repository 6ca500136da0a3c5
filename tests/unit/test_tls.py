"""The HTTP clients share one TLS context: an open remote-signing account is light.

Each signing channel of a homeroom teacher keeps its account's HTTP client open for
the run; with a TLS context (and a copy of the CA bundle) per client, a school of 286
classes held ~240 MB in the parent. Measured on the C heap, where OpenSSL keeps the
loaded roots (glibc's ``mallinfo2``; elsewhere the resident memory).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc

import psutil

from hocbaso.registry.client import RegistryClient
from hocbaso.signing.channels.csc import CscPort
from hocbaso.signing.channels.vn_async import VnAsyncPort
from hocbaso.tls import client_context

ACCOUNTS = 60


class _Mallinfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            "arena",
            "ordblks",
            "smblks",
            "hblks",
            "hblkhd",
            "usmblks",
            "fsmblks",
            "uordblks",
            "fordblks",
            "keepcost",
        )
    ]


def _heap_in_use() -> int:
    """Bytes of the C heap in use (small blocks and mmapped ones); without glibc's
    ``mallinfo2``, the process's resident memory (coarser, but a copy of the roots per
    client, ~50 MB for the accounts below, still shows)."""
    name = ctypes.util.find_library("c")
    libc = ctypes.CDLL(name) if name else None
    if libc is None or not hasattr(libc, "mallinfo2"):
        return int(psutil.Process().memory_info().rss)
    libc.mallinfo2.restype = _Mallinfo2
    info = libc.mallinfo2()
    return int(info.uordblks + info.hblkhd)


def test_one_context_for_the_process() -> None:
    assert client_context() is client_context()
    assert client_context().verify_mode.name == "CERT_REQUIRED"  # httpx's default rules


def test_many_open_accounts_do_not_each_load_the_ca_bundle() -> None:
    client_context()  # the one copy, made before measuring
    gc.collect()
    before = _heap_in_use()
    ports = [
        VnAsyncPort("http://127.0.0.1:9", f"GV{i:04d}", client_id="truong", secret="s")
        for i in range(ACCOUNTS // 2)
    ] + [
        CscPort("http://127.0.0.1:9", f"GV{i:04d}", client_id="truong", secret="s")
        for i in range(ACCOUNTS // 2)
    ]
    grown = _heap_in_use() - before
    for port in ports:
        port.close()
    # A context of its own with certifi's roots is ~0.8 MB a client (~50 MB here).
    assert grown < ACCOUNTS * 150_000, f"{grown / 2**20:.1f} MB for {ACCOUNTS} accounts"


def test_registry_client_uses_the_shared_context() -> None:
    client_context()
    gc.collect()
    before = _heap_in_use()
    clients = [RegistryClient("http://127.0.0.1:9/api/v1", "id", "secret") for _ in range(20)]
    grown = _heap_in_use() - before
    for client in clients:
        client.close()
    assert grown < 20 * 150_000, f"{grown / 2**20:.1f} MB for 20 clients"
