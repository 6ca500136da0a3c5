"""Open a signer's channel from its ``school.toml`` entry (key file, token or remote account)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from hocbaso.config import KhoaPkcs11, KhoaPkcs12, KhoaTuXa, Workspace, secret_from_env
from hocbaso.signing.channels import Channel, LocalChannel, RemoteChannel, RemotePort
from hocbaso.signing.signers import load_signer


def remote_port(spec: KhoaTuXa) -> RemotePort:
    """The wire adapter of a remote signing account (secret from the environment)."""
    secret = secret_from_env(
        spec.bi_mat_env, f"mật khẩu ứng dụng ký số từ xa ({spec.nha_cung_cap})"
    )
    assert secret is not None
    if spec.giao_thuc == "csc":
        from hocbaso.signing.channels.csc import CscPort

        return CscPort(
            spec.url,
            spec.ma_nguoi_dung,
            client_id=spec.client_id,
            secret=secret,
            credential_id=spec.ma_chung_thu,
            provider=spec.nha_cung_cap,
        )
    from hocbaso.signing.channels.vn_async import VnAsyncPort

    return VnAsyncPort(
        spec.url,
        spec.ma_nguoi_dung,
        client_id=spec.client_id,
        secret=secret,
        provider=spec.nha_cung_cap,
    )


def open_channel(
    spec: KhoaPkcs12 | KhoaPkcs11 | KhoaTuXa,
    workspace: Workspace | None = None,
    *,
    chain_files: Sequence[Path] = (),
) -> Channel:
    """The channel ``spec`` describes; a key or token is opened now, once."""
    if isinstance(spec, KhoaTuXa):
        return RemoteChannel.open(remote_port(spec))

    signer = load_signer(spec, workspace, chain_files=chain_files)
    return LocalChannel(
        signer, reload=lambda: load_signer(spec, workspace, chain_files=chain_files)
    )
