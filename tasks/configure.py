"""Task of the configure step (cấu hình): signers, certificates, the seal."""

from __future__ import annotations

from prefect import task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from hocbaso import keys
from hocbaso.roster import load_roster
from hocbaso.store.audit import append_events
from tasks.common import open_workspace


@task(name="kiem-tra-cau-hinh", cache_policy=NO_CACHE)
def configure_task(workspace: str) -> dict[str, int | str]:
    """Check the roster and every signer's certificate; create the demo PKI if needed."""
    ws, config, store = open_workspace(workspace)
    roster = load_roster(store, config)
    if keys.is_demo(config):
        keys.ensure_demo_pki(ws, config, roster)
    checked = 0
    for who, person, role in [
        *((p.ma_giao_vien, p, f"GVCN lớp {c}") for c, p in roster.gvcn.items()),
        (roster.hieu_truong.ma_giao_vien, roster.hieu_truong, "Hiệu trưởng"),
    ]:
        with keys.open_signer(ws, config, who) as signer:
            keys.check_signer_is(signer, person, role)
        checked += 1
    with keys.open_signer(ws, config, keys.SEAL):
        checked += 1
    summary: dict[str, int | str] = {
        "so_lop": len(roster.gvcn),
        "so_chung_thu_da_kiem_tra": checked,
        "che_do_chung_thu": config.chung_thu.che_do,
        "che_do_csdl": config.registry.che_do,
    }
    with store.transaction() as con:
        append_events(con, "to_cong_tac", "cau_hinh", [(None, dict(summary))])
    create_markdown_artifact(
        key="cau-hinh",
        markdown=(
            "## Cấu hình\n\n"
            f"- Năm học: {config.nam_hoc.nam_hoc}\n"
            f"- Hạn nộp: {config.nam_hoc.han_nop_chinh} (chính), "
            f"{config.nam_hoc.han_nop_bo_sung} (sau đánh giá bổ sung)\n"
            f"- Số lớp: {len(roster.gvcn)}; chứng thư đã kiểm tra: {checked}\n"
            f"- Chứng thư số: {config.chung_thu.che_do}; CSDL Học bạ số: {config.registry.che_do}"
        ),
    )
    return summary
