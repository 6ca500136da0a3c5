"""The real CSDL Học bạ số (``[registry] che_do = "that"``): its address, the school's
credentials, nothing started on this machine."""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext

from hocbaso.config import SchoolConfig, secret_from_env
from hocbaso.errors import ConfigurationError
from hocbaso.registry.client import RegistryClient
from hocbaso.signing.trust import TrustSettings


class RealRegistry:
    """The Ministry's service at ``[registry] url``; the secret from the environment."""

    kind = "that"

    def __init__(self, config: SchoolConfig) -> None:
        self._config = config

    def client(self) -> RegistryClient:
        """A client (one per run: it keeps its connections); use it as a context manager."""
        registry = self._config.registry
        secret = secret_from_env(registry.client_secret_env, "mật khẩu kết nối CSDL Học bạ số")
        assert registry.url is not None and secret is not None  # the config validator says so
        return RegistryClient(
            registry.url, registry.client_id, secret, max_in_flight=registry.dong_thoi
        )

    def tra_cuu_url(self) -> str:
        assert self._config.registry.tra_cuu_url is not None  # the config validator says so
        return self._config.registry.tra_cuu_url.rstrip("/")

    def services(self, trust: TrustSettings) -> AbstractContextManager[object]:
        return nullcontext()

    def serve_forever(
        self, trust: TrustSettings, port: int | None, host: str | None = None
    ) -> None:
        raise ConfigurationError(
            "Thư mục làm việc này nộp học bạ lên CSDL Học bạ số thật; không có máy chủ giả lập "
            "nào để chạy.",
            hint='`hbs registry serve` chỉ dùng với [registry] che_do = "gia_lap".',
        )
