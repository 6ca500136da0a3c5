"""The principal's approval as a paused Prefect run: the form is on the run, answered over
the API, and the run resumes; a returned class goes back to draft with the reason audited.

A tiny school with two classes signed by their homeroom teachers (through the
remote-signing stand-in) and no approval given ahead; the `ky-hoc-ba` flow for the
principal runs in a thread against the session's real Prefect server.


Prefect is imported inside the test: it reads its settings (the API URL) on import.
"""

from __future__ import annotations

import json
import shutil
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from hocbaso.configure import configure
from hocbaso.demo import bundled
from hocbaso.demo.sample import generate_school, write_xlsx
from hocbaso.initialize import initialize
from hocbaso.issue import sign_class
from hocbaso.lock import lock_class
from hocbaso.resources import open_resources
from hocbaso.store import current_records

CLASSES = ("1A", "2A")


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    root.mkdir()
    toml = bundled.school_toml_template().read_text(encoding="utf-8")
    (root / "school.toml").write_text(
        toml.replace("duyet_truoc = true", "duyet_truoc = false"), encoding="utf-8"
    )
    source = write_xlsx(generate_school(n_students=16, seed=5), root / "nguon.xlsx")
    initialize(open_resources(root).ws, source, expectations=False)
    res = open_resources(root)
    configure(res)
    with res.credentials.services():
        for ma_lop in CLASSES:
            lock_class(res, ma_lop)
            sign_class(res, ma_lop, "gvcn", wait_s=10)
    res.close()
    return root


def _paused(key: str, timeout_s: float = 60) -> Any:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        FlowRunFilter,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType

    deadline = time.monotonic() + timeout_s
    runs_filter = FlowRunFilter(
        state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.PAUSED]))
    )
    with get_client(sync_client=True) as client:
        while time.monotonic() < deadline:
            for run in client.read_flow_runs(flow_run_filter=runs_filter):
                if run.state is not None and run.state.state_details.pause_key == key:
                    return run
            time.sleep(0.5)
    raise AssertionError(f"no run paused on {key}")


def _form_schema(run: Any) -> dict[str, Any]:
    from prefect.client.orchestration import get_client

    keyset = run.state.state_details.run_input_keyset
    with get_client(sync_client=True) as client:
        raw = client.read_flow_run_input(run.id, keyset["schema"])
    return dict(json.loads(raw))


def test_approval_form_on_a_paused_run_is_answered_and_the_run_resumes(
    prefect_api: str, workspace: Path
) -> None:
    # Prefect reads its settings when imported: only after the session's server is up.
    from prefect.flow_runs import resume_flow_run

    from flows.steps import ky_hoc_ba, pause_key

    result: dict[str, Any] = {}
    thread = threading.Thread(
        target=lambda: result.update(state=ky_hoc_ba(str(workspace), "ht", return_state=True)),
        daemon=True,
    )
    thread.start()
    first = _paused(pause_key("1A"))
    schema = _form_schema(first)
    assert {"quyet_dinh", "ly_do"} <= set(schema["properties"])
    resume_flow_run(first.id, run_input={"quyet_dinh": "duyet", "ly_do": ""})
    second = _paused(pause_key("2A"))
    resume_flow_run(second.id, run_input={"quyet_dinh": "tra_lai", "ly_do": "Sai điểm môn Toán"})
    thread.join(timeout=120)
    assert not thread.is_alive()
    assert result["state"].is_completed()

    res = open_resources(workspace)
    assert {r.trang_thai.value for r in current_records(res.store, ma_lop="1A")} == {"signed_ht"}
    assert {r.trang_thai.value for r in current_records(res.store, ma_lop="2A")} == {"draft"}
    with res.store.connect() as con:
        events = con.execute(
            "SELECT hanh_dong, chi_tiet FROM su_kien WHERE hanh_dong IN "
            "('duyet_lop', 'tra_lai_lop', 'xac_nhan_mo_khoa') ORDER BY so_thu_tu"
        ).fetchall()
    details = [(a, json.loads(d)) for a, d in events]
    assert [a for a, _ in details] == ["duyet_lop", "xac_nhan_mo_khoa", "tra_lai_lop"]
    assert details[0][1]["nguon"] == "giao_dien" and details[0][1]["ma_lop"] == "1A"
    assert details[1][1]["ly_do"] == "Sai điểm môn Toán"
    assert details[2][1] == {
        "ma_lop": "2A",
        "so_hoc_ba": details[2][1]["so_hoc_ba"],
        "ly_do": "Sai điểm môn Toán",
        "nguon": "giao_dien",
    }
    res.close()
    shutil.rmtree(workspace / "tep", ignore_errors=True)
