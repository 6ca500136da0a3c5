"""prefect.yaml deploys as written: deadline runs in Vietnam time, one run at a time."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from prefect.client.orchestration import get_client

REPO = Path(__file__).resolve().parents[2]


def test_prefect_yaml_deploys_the_deadline_schedules(prefect_api: str, tmp_path: Path) -> None:
    prefect = str(Path(sys.executable).with_name("prefect"))
    env = {
        **os.environ,
        "PREFECT_API_URL": prefect_api,
        "HBS_WORKSPACE": str(tmp_path),
        "HBS_REPO": str(REPO),
    }
    subprocess.run(
        [prefect, "work-pool", "create", "hoc-ba-so", "--type", "process"],
        env=env,
        cwd=REPO,
        check=True,
        capture_output=True,
    )
    result = subprocess.run(
        [prefect, "--no-prompt", "deploy", "--all"],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    with get_client(sync_client=True) as client:
        deployments = {d.name: d for d in client.read_deployments()}
    assert {"han-nop-chinh", "han-nop-bo-sung", "ky-gvcn", "nop-csdl"} <= set(deployments)
    chinh = deployments["han-nop-chinh"]
    assert chinh.parameters == {"workspace": str(tmp_path), "dot": "chinh"}
    crons = [(s.schedule.cron, s.schedule.timezone) for s in chinh.schedules]
    assert crons == [("0 8 5,10,14 5 *", "Asia/Ho_Chi_Minh")]
    bo_sung = deployments["han-nop-bo-sung"].schedules[0].schedule
    assert (bo_sung.cron, bo_sung.timezone) == ("0 8 15,20,24 8 *", "Asia/Ho_Chi_Minh")
    renewal = deployments["gia-han-luu-tru"]
    assert renewal.parameters["bien_do_ngay"] == 730
    renewal_cron = renewal.schedules[0].schedule
    assert (renewal_cron.cron, renewal_cron.timezone) == ("0 2 1 * *", "Asia/Ho_Chi_Minh")
    for name in (
        "han-nop-chinh",
        "ky-gvcn",
        "ky-hieu-truong",
        "dong-dau",
        "nop-csdl",
        "gia-han-luu-tru",
    ):
        assert deployments[name].global_concurrency_limit is not None, name
        assert deployments[name].global_concurrency_limit.limit == 1, name
