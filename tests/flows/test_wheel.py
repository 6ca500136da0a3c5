"""A wheel is the whole product: built, installed away from the source tree, it runs.

Package data is found through importlib.resources, so a wheel installed into a fresh
environment must validate records against its own XSD and run `hbs demo` with its own
bundled configuration, from a folder that has nothing to do with the repository.

The fresh environment takes the dependencies from the project's venv through a
``.pth`` line (a directory added that way is not a site directory, so its own ``.pth``
files, among them the editable install's finder, are not processed): only the wheel
provides ``hocbaso``, which the test checks before running anything.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import duckdb
import pytest

from hocbaso.demo.sample import generate_school, write_xlsx

REPO = Path(__file__).resolve().parents[2]
#: What `pip wheel .` needs of the tree (a copy: building in place leaves build/ behind).
BUILD_INPUTS = ("pyproject.toml", "hocbaso", "hbs", "tasks", "flows", "validation")
PACKAGE_DATA = (
    "hocbaso/record/xsd/hocba-1.0.xsd",
    "hocbaso/record/xsd/xmldsig-core-schema.xsd",
    "hocbaso/demo/data/sample.xlsx",
    "hocbaso/demo/data/school.toml",
    "hocbaso/demo/data/templates/bang-tong-hop-mau.xlsx",
    "hocbaso/templates/hocba.typ",
)


def _run(cmd: list[str], *, env: dict[str, str], cwd: Path) -> str:
    done = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, (
        f"{cmd[:3]} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    )
    return done.stdout


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    src = tmp_path_factory.mktemp("src")
    for name in BUILD_INPUTS:
        if (REPO / name).is_dir():
            shutil.copytree(
                REPO / name, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
            )
        else:
            shutil.copy2(REPO / name, src / name)
    out = tmp_path_factory.mktemp("dist")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    _run([*pip, "wheel", "--no-deps", "-w", str(out), str(src)], env=env, cwd=src)
    (built,) = out.glob("hocbaso-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with the wheel installed (not editable); returns its bin folder."""
    root = tmp_path_factory.mktemp("venv") / "v"
    venv.EnvBuilder(with_pip=False, symlinks=True).create(root)
    purelib = Path(sysconfig.get_path("purelib", vars={"base": str(root), "platbase": str(root)}))
    deps = sysconfig.get_path("purelib")  # the project venv's site-packages
    (purelib / "hocbaso-deps.pth").write_text(deps + "\n", encoding="utf-8")
    python = root / "bin" / "python"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    _run(
        [str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)],
        env=env,
        cwd=root,
    )
    return root / "bin"


def test_wheel_carries_the_schema_and_the_sample_data(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    assert set(PACKAGE_DATA) <= names
    assert not any(n.startswith(("tests/", "data/", "xsd/")) for n in names)


def test_installed_wheel_runs_the_demo_to_accepted_records(
    installed: Path, prefect_api: str, tmp_path: Path
) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PREFECT_API_URL"] = prefect_api
    where = _run(
        [
            str(installed / "python"),
            "-c",
            "import hocbaso, hocbaso.record as r; print(hocbaso.__file__); print(r.XSD_PATH)",
        ],
        env=env,
        cwd=outside,
    ).split()
    root = installed.parent.resolve()
    assert all(Path(p).resolve().is_relative_to(root) for p in where), where

    source = write_xlsx(generate_school(n_students=5, seed=7), outside / "truong.xlsx")
    ws = outside / "ws"
    _run(
        [str(installed / "hbs"), "demo", "--workspace", str(ws), "--source", str(source)],
        env=env,
        cwd=outside,
    )
    with duckdb.connect(str(ws / "hbs.duckdb"), read_only=True) as con:
        states = con.execute("SELECT trang_thai FROM v_hoc_ba").fetchall()
    assert [s for (s,) in states] == ["accepted"] * 5
