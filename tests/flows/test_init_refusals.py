"""Every bad file of the corpus, through the real `hbs init`: refused, precise, harmless.

For each case the command exits non-zero, prints the first problem with its table,
sheet row and column (or the whole-file reason), and the store file is byte-for-byte
what it was before. The exact problem lists are asserted in tests/badinput.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from badinput.corpus import BASE_SEED, BASE_STUDENTS, CASES, Case, case_path

from hbs.cli import EXIT_USER_ERROR, main
from hocbaso.sample import generate_school, write_xlsx

REPO = Path(__file__).resolve().parents[2]
REFUSED = [c for c in CASES if not c.accepted]


@pytest.fixture(scope="module")
def loaded_workspace(tmp_path_factory: pytest.TempPathFactory, prefect_api: str) -> Path:
    """A workspace whose store holds a good import of the corpus's base school."""
    ws = tmp_path_factory.mktemp("init") / "truong"
    ws.mkdir()
    shutil.copyfile(REPO / "data" / "school.toml", ws / "school.toml")
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
