"""Configure (cấu hình): who signs which class, the principal, the seal, their keys.

Every signer's key is loaded once and checked to be that person's certificate
before anything is signed; in demo mode the demo PKI is created (or extended with
new signers) first. The result is counts only, safe to log and publish.
"""

from __future__ import annotations

from dataclasses import dataclass

from hocbaso.resources import Resources
from hocbaso.signing.roles import Role
from hocbaso.store.audit import append_events


@dataclass(frozen=True)
class ConfigureSummary:
    """What configure checked (no personal data)."""

    so_lop: int
    so_chung_thu_da_kiem_tra: int
    che_do_chung_thu: str
    che_do_csdl: str

    def as_dict(self) -> dict[str, int | str]:
        return {
            "so_lop": self.so_lop,
            "so_chung_thu_da_kiem_tra": self.so_chung_thu_da_kiem_tra,
            "che_do_chung_thu": self.che_do_chung_thu,
            "che_do_csdl": self.che_do_csdl,
        }


def configure(res: Resources) -> ConfigureSummary:
    """Check the roster and every signer's certificate; audited as one event."""
    roster = res.roster()
    res.credentials.prepare(roster)
    wanted: list[tuple[Role, str | None]] = [("gvcn", c) for c in roster.gvcn]
    wanted += [("ht", None), ("condau", None)]
    checked = {res.signer_for(role, ma_lop, roster)[0].key for role, ma_lop in wanted}
    summary = ConfigureSummary(
        so_lop=len(roster.gvcn),
        so_chung_thu_da_kiem_tra=len(checked),
        che_do_chung_thu=res.config.chung_thu.che_do,
        che_do_csdl=res.config.registry.che_do,
    )
    with res.store.transaction() as con:
        append_events(con, "to_cong_tac", "cau_hinh", [(None, summary.as_dict())])
    return summary
