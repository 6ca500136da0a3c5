"""One workspace, one Prefect server, one UI; one command at a time; no run left Running.

Real processes throughout: `hbs` runs as a subprocess (``python -m hbs.cli``), its
Prefect servers are real ``prefect server start`` processes, a run is ended by
SIGKILL. No test assumes a port is free: port 4200 is taken on purpose when it can
be, and every server a test starts is stopped.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from lxml import etree
from prefect.client.schemas.objects import FlowRun
from pyhanko.pdf_utils.reader import PdfFileReader

from hbs.cli import main
from hbs.prefect_server import DEFAULT_PORT, RUN_TAG_PREFIX, stop_server, workspace_identity
from hocbaso.config import Workspace
from hocbaso.demo import bundled
from hocbaso.demo.pki import load_demo_pki
from hocbaso.workspace_lock import read_holder

DS = "http://www.w3.org/2000/09/xmldsig#"


def _hbs(
    *args: str, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hbs.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        check=False,
    )


def _own_server_env() -> dict[str, str]:
    """The environment of a command that must start its workspace's own server."""
    env = dict(os.environ)
    env.pop("PREFECT_API_URL", None)
    env.pop("PREFECT_UI_URL", None)
    return env


def _record(ws: Path) -> dict[str, object]:
    data: dict[str, object] = json.loads((ws / ".prefect" / "server.json").read_text())
    return data


def _get_json(url: str) -> dict[str, object]:
    with urllib.request.urlopen(url, timeout=10) as resp:
        data: dict[str, object] = json.loads(resp.read())
        return data


def _healthy(api_url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{api_url}/health", timeout=2) as resp:
            return resp.status == 200
    except OSError:
        return False


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True


@pytest.fixture(scope="module")
def served_workspace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A workspace whose own server was started while port 4200 was taken by someone else."""
    ws = tmp_path_factory.mktemp("may-chu") / "truong"
    ws.mkdir()
    squatter = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        try:
            squatter.bind(("127.0.0.1", DEFAULT_PORT))
            squatter.listen()
        except OSError:
            pass  # 4200 is busy already: just as good
        result = _hbs("server", "start", "--workspace", str(ws), env=_own_server_env())
    finally:
        squatter.close()
    try:
        assert result.returncode == 0, result.stderr
        yield ws
    finally:
        stop_server(ws)


def test_a_server_started_with_4200_taken_serves_a_ui_that_calls_its_own_api(
    served_workspace: Path,
) -> None:
    record = _record(served_workspace)
    port = record["port"]
    assert port != DEFAULT_PORT
    own_api = f"http://127.0.0.1:{port}/api"
    assert record["api_url"] == own_api
    assert record["workspace"] == str(served_workspace.resolve())
    assert record["workspace_id"] == workspace_identity(served_workspace)
    # What the browser's UI is told to call: this server's API, not 4200's.
    assert _get_json(f"http://127.0.0.1:{port}/ui-settings")["api_url"] == own_api
    # The command reuses it and prints the UI address that belongs to it.
    again = _hbs("server", "start", "--workspace", str(served_workspace), env=_own_server_env())
    assert again.returncode == 0, again.stderr
    assert f"http://127.0.0.1:{port}" in again.stdout
    assert _record(served_workspace)["pid"] == record["pid"]


def test_a_command_runs_its_flow_on_the_workspace_server_not_a_throwaway_one(
    served_workspace: Path, tiny_school_xlsx: Path
) -> None:
    """Prefect reads its API address once, when first imported: the command must start or
    find the workspace's server before that, or its runs vanish with a temporary server."""
    bundled.write_school_toml(served_workspace)
    result = _hbs(
        "init",
        "--source",
        str(tiny_school_xlsx),
        "--workspace",
        str(served_workspace),
        env=_own_server_env(),
    )
    assert result.returncode == 0, result.stderr
    assert "temporary server" not in result.stdout + result.stderr
    request = urllib.request.Request(
        f"{_record(served_workspace)['api_url']}/flow_runs/filter",
        data=json.dumps({"limit": 20}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as resp:
        runs = json.loads(resp.read())
    assert any(r["name"].endswith("khoi-tao-du-lieu") for r in runs), [r["name"] for r in runs]


def test_a_copy_of_a_workspace_gets_its_own_server_and_stopping_one_leaves_the_other(
    served_workspace: Path,
) -> None:
    original = _record(served_workspace)
    copy = served_workspace.parent / "ban-sao"
    subprocess.run(["cp", "-a", str(served_workspace), str(copy)], check=True)
    try:
        # The copy carries the original's record: stopping "its" server must not stop
        # the original's.
        stop = _hbs("server", "stop", "--workspace", str(copy), env=_own_server_env())
        assert stop.returncode == 0 and "Không có máy chủ" in stop.stdout
        assert _healthy(str(original["api_url"]))
        start = _hbs("server", "start", "--workspace", str(copy), env=_own_server_env())
        assert start.returncode == 0, start.stderr
        mine = _record(copy)
        assert mine["workspace"] == str(copy.resolve())
        assert mine["workspace_id"] != original["workspace_id"]
        assert (mine["pid"], mine["port"]) != (original["pid"], original["port"])
        port = mine["port"]
        assert _get_json(f"http://127.0.0.1:{port}/ui-settings")["api_url"] == mine["api_url"]
        stop = _hbs("server", "stop", "--workspace", str(copy), env=_own_server_env())
        assert stop.returncode == 0 and "Đã tắt" in stop.stdout
        assert not _alive(int(str(mine["pid"])))
        assert _healthy(str(original["api_url"]))
        assert _record(served_workspace) == original
    finally:
        stop_server(copy)


# --- A locked tiny school, copied for each test that signs -------------------------------


@pytest.fixture(scope="module")
def locked_school(
    tmp_path_factory: pytest.TempPathFactory, prefect_api: str, tiny_school_xlsx: Path
) -> Path:
    """Initialized, configured (demo certificates) and locked; tests sign copies of it."""
    ws = tmp_path_factory.mktemp("khoa") / "truong"
    ws.mkdir()
    shutil.copyfile(bundled.school_toml_template(), ws / "school.toml")  # type: ignore[arg-type]
    for verb in (["init", "--source", str(tiny_school_xlsx)], ["configure"], ["lock"]):
        assert main([*verb, "--workspace", str(ws)]) == 0, verb
    return ws


def _copy(ws: Path, name: str) -> Path:
    target = ws.parent / name
    subprocess.run(["cp", "-a", str(ws), str(target)], check=True)
    return target


def _records(ws: Path) -> list[tuple[str, str, str, str]]:
    con = duckdb.connect(str(ws / "hbs.duckdb"), read_only=True)
    try:
        return con.execute(
            "SELECT ma_hoc_ba, trang_thai, xml_path, pdf_path FROM v_hoc_ba ORDER BY ma_hoc_ba"
        ).fetchall()
    finally:
        con.close()


def _runs(tag: str, states: list[str]) -> list[FlowRun]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        FlowRunFilter,
        FlowRunFilterState,
        FlowRunFilterStateType,
        FlowRunFilterTags,
    )
    from prefect.client.schemas.objects import StateType

    runs_filter = FlowRunFilter(
        tags=FlowRunFilterTags(all_=[tag]),
        state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType(s) for s in states])),
    )
    with get_client(sync_client=True) as client:
        return list(client.read_flow_runs(flow_run_filter=runs_filter))


def test_a_run_whose_process_was_killed_ends_crashed_at_the_next_command(
    locked_school: Path,
) -> None:
    ws = _copy(locked_school, "bi-tat")
    tag = RUN_TAG_PREFIX + workspace_identity(ws)
    signing = subprocess.Popen(
        [sys.executable, "-m", "hbs.cli", "sign", "--role", "gvcn", "--workspace", str(ws)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while not _runs(tag, ["RUNNING"]):
            assert signing.poll() is None, "the signing command ended before it was killed"
            assert time.monotonic() < deadline, "no Running flow run appeared"
            time.sleep(0.05)
        signing.send_signal(signal.SIGKILL)
        assert signing.wait(timeout=30) == -signal.SIGKILL
    finally:
        if signing.poll() is None:
            signing.kill()
            signing.wait()
    # The server still believes the dead process is signing.
    killed = _runs(tag, ["RUNNING", "PENDING"])
    assert killed
    after = _hbs("report", "--workspace", str(ws))
    assert after.returncode == 0, after.stderr
    assert f"Đã đánh dấu {len(killed)} lần chạy bị gián đoạn" in after.stdout
    assert _runs(tag, ["RUNNING", "PENDING"]) == []
    crashed = {run.id: run for run in _runs(tag, ["CRASHED"])}
    assert {run.id for run in killed} <= set(crashed)
    for run in killed:
        state = crashed[run.id].state
        assert state is not None and state.name == "Crashed"
        assert "dừng đột ngột" in (state.message or "")
    # Nothing left to mark: the next command says nothing about interrupted runs.
    quiet = _hbs("report", "--workspace", str(ws))
    assert quiet.returncode == 0 and "gián đoạn" not in quiet.stdout


def _with_pkcs12_signers(ws: Path) -> dict[str, str]:
    """Switch ``ws`` to real certificates (PKCS#12 files) for its homeroom teachers; the
    environment holding their passwords."""
    pki = load_demo_pki(Workspace(ws).pki_dir)
    con = duckdb.connect(str(ws / "hbs.duckdb"), read_only=True)
    teachers = [row[0] for row in con.execute("SELECT DISTINCT ma_gvcn FROM lop").fetchall()]
    con.close()
    env = dict(os.environ)
    people = ""
    for gv in teachers:
        credential = pki.credential(gv)
        people += (
            f"[chung_thu.nguoi.{gv}]\n"
            'loai = "pkcs12"\n'
            f'tep = "{credential.pkcs12}"\n'
            f'mat_khau_env = "HBS_TEST_P12_{gv}"\n'
        )
        env[f"HBS_TEST_P12_{gv}"] = credential.password
    config = (ws / "school.toml").read_text(encoding="utf-8")
    config = config.replace('che_do = "demo"\n', "", 1).replace(
        "[chung_thu]\n",
        f'[chung_thu]\nche_do = "that"\ntsa_url = "{pki.tsa_url}"\n'
        f'tin_cay = ["{pki.root_certificate}"]\n' + people,
        1,
    )
    (ws / "school.toml").write_text(config, encoding="utf-8")
    return env


def test_two_signing_commands_at_once_one_signs_the_other_is_refused(
    locked_school: Path,
) -> None:
    ws = _copy(locked_school, "hai-lenh")
    env = _with_pkcs12_signers(ws)
    command = [sys.executable, "-m", "hbs.cli", "sign", "--role", "gvcn", "--workspace", str(ws)]
    first = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while (holder := read_holder(ws)) is None or holder.pid != first.pid:
            assert first.poll() is None, first.communicate()
            assert time.monotonic() < deadline
            time.sleep(0.02)
        started = time.monotonic()
        second = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
        refused_in = time.monotonic() - started
        _, err = first.communicate(timeout=300)
    finally:
        if first.poll() is None:
            first.kill()
            first.communicate()
    assert first.returncode == 0, err.decode()
    assert second.returncode == 2, second.stdout + second.stderr
    assert "đang bận" in second.stderr
    assert "`hbs sign --role gvcn`" in second.stderr and f"pid {first.pid}" in second.stderr
    assert refused_in < 15, refused_in

    records = _records(ws)
    assert len(records) == 40 and {r[1] for r in records} == {"signed_gvcn"}
    for _, _, xml_path, pdf_path in records:
        xml = etree.parse(str(ws / xml_path))
        assert len(xml.findall(f".//{{{DS}}}Signature")) == 1, xml_path
        with (ws / pdf_path).open("rb") as f:
            assert len(PdfFileReader(f).embedded_signatures) == 1, pdf_path
    con = duckdb.connect(str(ws / "hbs.duckdb"), read_only=True)
    events = dict(
        con.execute(
            "SELECT ma_hoc_ba, count(*) FROM su_kien WHERE hanh_dong = 'ky_gvcn' GROUP BY ma_hoc_ba"
        ).fetchall()
    )
    con.close()
    assert events == {r[0]: 1 for r in records}
