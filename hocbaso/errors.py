"""One exception tree for the whole project.

Every message is Vietnamese, written for the school's working group: what
failed, on what, and what to do next. Library exceptions are wrapped with
``raise ... from exc`` so the cause stays in the chain for an engineer while the
user reads the sentence.

    HocBaSoError
    ├── InputDataError          a source file cannot be read at all (encoding, format, sheet)
    ├── GateError               the data gates found ERRORs; carries the gate reports
    ├── ConfigurationError      school.toml or the workspace is wrong or incomplete
    ├── StoreError              the store refused an operation (state, concurrency)
    │   ├── TransitionError     a record is not in the state the step needs
    │   └── WorkspaceBusy       another command is changing the same workspace right now
    ├── RecordError             building, validating or verifying a record failed
    ├── SigningError            a key, certificate, token or timestamp failed
    └── RegistryError           talking to CSDL Học bạ số failed
        ├── RegistryRejected    the registry refused the record (4xx): never retried
        └── RegistryUnavailable the registry could not answer (network, 429, 5xx): retried
"""

from __future__ import annotations

from typing import Any


class HocBaSoError(Exception):
    """Root of every error the project raises on purpose."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def user_message(self) -> str:
        """The text shown to the working group: the problem, then what to do."""
        return self.message if not self.hint else f"{self.message}\n→ {self.hint}"

    def __reduce__(self) -> tuple[Any, ...]:
        # A worker process's error reaches the parent pickled: keep the hint and every
        # other attribute (the default rebuilds from ``args`` only, losing the hint and
        # failing for subclasses with keyword-only arguments).
        return (_restore, (type(self), self.message, self.__dict__))


def _restore(cls: type[HocBaSoError], message: str, state: dict[str, Any]) -> HocBaSoError:
    error = cls.__new__(cls)
    Exception.__init__(error, message)
    error.__dict__.update(state)
    return error


class InputDataError(HocBaSoError):
    """A source file cannot be read as the import format at all."""


class GateError(HocBaSoError):
    """A data gate found problems of severity ERROR; nothing was written."""

    def __init__(
        self,
        message: str,
        *,
        reports: list[Any],
        report_path: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.reports = reports
        self.report_path = report_path


class ConfigurationError(HocBaSoError):
    """The workspace configuration (school.toml) is missing or inconsistent."""


class StoreError(HocBaSoError):
    """The DuckDB store refused an operation."""


class TransitionError(StoreError):
    """A record is not in the state a step requires."""


class WorkspaceBusy(StoreError):
    """Another live process holds the workspace lock; carries who holds it."""

    def __init__(self, message: str, *, holder: Any = None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.holder = holder


class RecordError(HocBaSoError):
    """Building, validating or verifying a record failed."""


class SigningError(HocBaSoError):
    """A signing key, certificate, token or timestamp authority failed."""


class RegistryError(HocBaSoError):
    """Talking to CSDL Học bạ số failed."""


class RegistryRejected(RegistryError):
    """The registry refused the record; sending it again will not help."""

    def __init__(self, message: str, *, code: str, status: int, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.code = code
        self.status = status


class RegistryUnavailable(RegistryError):
    """The registry could not answer now; a later attempt may succeed."""
