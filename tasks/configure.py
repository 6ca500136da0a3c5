"""Task of the configure step (cấu hình): signers, certificates, the seal."""

from __future__ import annotations

from prefect import task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from hocbaso.configure import configure
from hocbaso.resources import resources_for


@task(name="kiem-tra-cau-hinh", cache_policy=NO_CACHE, task_run_name="kiem-tra-cau-hinh")
def configure_task(workspace: str) -> dict[str, int | str]:
    """Check the roster and every signer's certificate; create the demo PKI if needed."""
    res = resources_for(workspace)
    summary = configure(res)
    year = res.config.nam_hoc
    create_markdown_artifact(
        key="cau-hinh",
        markdown=(
            "## Cấu hình\n\n"
            f"- Năm học: {year.nam_hoc}\n"
            f"- Hạn nộp: {year.han_nop_chinh} (chính), "
            f"{year.han_nop_bo_sung} (sau đánh giá bổ sung)\n"
            f"- Số lớp: {summary.so_lop}; chứng thư đã kiểm tra: "
            f"{summary.so_chung_thu_da_kiem_tra}\n"
            f"- Chứng thư số: {summary.che_do_chung_thu}; CSDL Học bạ số: {summary.che_do_csdl}"
        ),
    )
    return summary.as_dict()
