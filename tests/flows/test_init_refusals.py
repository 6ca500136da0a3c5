"""Every bad file of the corpus, through the real `hbs init`: refused, precise, harmless.

For each case the command exits non-zero, prints the first problem with its table,
sheet row and column (or the whole-file reason), and the store file is byte-for-byte
what it was before. The exact problem lists are asserted in tests/badinput.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from badinput.corpus import BASE_SEED, BASE_STUDENTS, CASES, Case, case_path

from hbs.cli import EXIT_USER_ERROR, main
from hocbaso.demo import bundled
from hocbaso.demo.sample import generate_school, write_xlsx

REFUSED = [c for c in CASES if not c.accepted]


@pytest.fixture(scope="module")
def loaded_workspace(tmp_path_factory: pytest.TempPathFactory, prefect_api: str) -> Path:
    """A workspace whose store holds a good import of the corpus's base school."""
    ws = tmp_path_factory.mktemp("init") / "truong"
    ws.mkdir()
    bundled.write_school_toml(ws)
    good = ws.parent / "tot.xlsx"
    write_xlsx(generate_school(n_students=BASE_STUDENTS, seed=BASE_SEED), good)
    assert main(["init", "--workspace", str(ws), "--source", str(good)]) == 0
    return ws


def test_the_corpus_has_enough_refusals() -> None:
    assert len(REFUSED) >= 30


@pytest.mark.parametrize("case", REFUSED, ids=lambda c: c.name)
def test_refused_import_leaves_the_store_untouched(
    case: Case, loaded_workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = loaded_workspace / "hbs.duckdb"
    before = store.read_bytes()
    code = main(["init", "--workspace", str(loaded_workspace), "--source", str(case_path(case))])
    err = capsys.readouterr().err
    assert code == EXIT_USER_ERROR
    assert store.read_bytes() == before
    assert "Traceback" not in err
    built = case.build()
    if built.refused is not None:
        assert built.refused in err
    else:
        table, row, column, _rule = built.expected[0]
        where = (
            f"bảng {table}"
            + (f", dòng {row}" if row else "")
            + (f", cột {column}" if column else "")
        )
        assert where in err, err
        assert "Báo cáo đầy đủ:" in err


def test_no_student_value_reaches_prefect_logs_or_artifacts(
    loaded_workspace: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A refused file's values are printed to the school's own terminal and workbook only."""
    import polars as pl
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import LogFilter, LogFilterTextSearch

    tables = generate_school(n_students=BASE_STUDENTS, seed=BASE_SEED)
    name, bad_id = "Bí Mật Riêng Tư", "98765"
    tables["hoc_sinh"] = tables["hoc_sinh"].with_columns(
        pl.when(pl.int_range(pl.len()) == 2).then(pl.lit(name)).otherwise("ho_ten").alias("ho_ten"),
        pl.when(pl.int_range(pl.len()) == 2)
        .then(pl.lit(bad_id))
        .otherwise("so_dinh_danh")
        .alias("so_dinh_danh"),
    )
    source = tmp_path / "lo-du-lieu.xlsx"
    write_xlsx(tables, source)
    assert main(["init", "--workspace", str(loaded_workspace), "--source", str(source)]) == 2
    assert bad_id in capsys.readouterr().err  # the school sees the value it must fix
    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts()
        logs = client.read_logs(log_filter=LogFilter(text=LogFilterTextSearch(query=bad_id)))
        everything = " ".join(str(a.data) + str(a.description) for a in artifacts)
        all_logs = " ".join(log.message for log in client.read_logs(limit=200))
    assert artifacts, "the data-check artifact was published"
    assert bad_id not in everything and name not in everything
    assert not logs and bad_id not in all_logs and name not in all_logs


def test_the_real_command_prints_no_traceback(loaded_workspace: Path, prefect_api: str) -> None:
    """As the working group sees it: a separate `hbs` process, its whole terminal output."""
    import subprocess
    import sys

    case = next(c for c in REFUSED if c.name == "tep-csv-windows-1258")
    hbs = Path(sys.executable).with_name("hbs")
    result = subprocess.run(
        [str(hbs), "init", "--workspace", str(loaded_workspace), "--source", str(case_path(case))],
        capture_output=True,
        text=True,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == EXIT_USER_ERROR
    assert "Traceback" not in output
    assert "CSV UTF-8" in output
