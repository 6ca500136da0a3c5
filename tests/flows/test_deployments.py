"""prefect.yaml deploys as written: deadline runs in Vietnam time, one run at a time."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml
from prefect.client.orchestration import get_client
from prefect.utilities.callables import parameter_schema

from flows.district import FULL_PLAN_DEPLOYMENT, PLAN_DEPLOYMENT, phat_hanh_cap_huyen

REPO = Path(__file__).resolve().parents[2]
PLAN, FULL_PLAN = (d.split("/")[0] for d in (PLAN_DEPLOYMENT, FULL_PLAN_DEPLOYMENT))


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
        flow_names = {d.name: client.read_flow(d.flow_id).name for d in deployments.values()}
    assert {"han-nop-chinh", "han-nop-bo-sung", "ky-gvcn", "nop-csdl"} <= set(deployments)
    # The school runs the district flow starts (flows/district.py), on the process pool.
    for name, flow_name in (("phat-hanh-truong", PLAN), ("ke-hoach-truong", FULL_PLAN)):
        assert deployments[name].work_pool_name == "hoc-ba-so", name
        assert deployments[name].parameters == {"workspace": str(tmp_path)}, name
        assert flow_names[name] == flow_name
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


def test_the_district_flow_is_a_well_formed_deployment() -> None:
    """The district flow deploys (or serves) with its parameters, and names the school
    deployments prefect.yaml defines; nothing is run."""
    deployment = phat_hanh_cap_huyen.to_deployment(name="phat-hanh-cap-huyen")
    assert deployment.flow_name == "phat-hanh-cap-huyen"
    assert deployment.entrypoint == "flows/district.py:phat_hanh_cap_huyen"
    schema = parameter_schema(phat_hanh_cap_huyen.fn)
    assert set(schema.properties) == {"truong", "nguon", "cho_toi_da_s"}
    assert schema.required == ["truong"]
    names = {d["name"] for d in yaml.safe_load((REPO / "prefect.yaml").read_text())["deployments"]}
    assert {PLAN_DEPLOYMENT.split("/")[1], FULL_PLAN_DEPLOYMENT.split("/")[1]} <= names
    from flows import plan

    assert (plan.phat_hanh.name, plan.ke_hoach_hoc_ba_so.name) == (PLAN, FULL_PLAN)
