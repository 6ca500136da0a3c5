"""Every bad input of the corpus is refused with the exact problems; the written-
differently ones are accepted."""

from __future__ import annotations

import filecmp
from pathlib import Path

import pytest

from badinput.corpus import CASES, NAM_HOC, Case, case_path, write_case
from hocbaso.errors import InputDataError
from hocbaso.ingest import read_source
from validation.gates import run_gates
from validation.report import Severity

BAD = [c for c in CASES if not c.accepted]
GOOD = [c for c in CASES if c.accepted]


def test_corpus_size() -> None:
    assert len(BAD) >= 30
    assert len({c.name for c in CASES}) == len(CASES)


def _same(a: Path, b: Path) -> bool:
    if a.is_file():
        return a.read_bytes() == b.read_bytes()
    cmp = filecmp.dircmp(a, b)
    return not (cmp.left_only or cmp.right_only) and all(
        (a / f).read_bytes() == (b / f).read_bytes() for f in cmp.common_files
    )


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_committed_file_is_generated(case: Case, tmp_path: Path) -> None:
    """The files are written by corpus.py, never edited by hand."""
    assert _same(case_path(case), write_case(case, tmp_path))


@pytest.mark.parametrize("case", BAD, ids=lambda c: c.name)
def test_bad_input_reported_exactly(case: Case) -> None:
    built = case.build()
    path = case_path(case)
    if built.refused is not None:
        with pytest.raises(InputDataError) as info:
            read_source(path)
        assert built.refused in info.value.message
        assert info.value.hint
        if built.hint:
            assert built.hint in info.value.hint
        return
    outcome = run_gates(read_source(path), nam_hoc=NAM_HOC, expectations=False)
    assert not outcome.ok and outcome.data is None
    errors = tuple(
        (p.table, p.sheet_row, p.column, p.rule)
        for p in outcome.problems
        if p.severity is Severity.ERROR
    )
    assert errors == built.expected
    for p in outcome.problems:  # a sentence in Vietnamese that says what to do
        assert p.message_vi[0].isupper() and ":" in p.message_vi


@pytest.mark.parametrize("case", GOOD, ids=lambda c: c.name)
def test_written_differently_but_accepted(case: Case) -> None:
    outcome = run_gates(read_source(case_path(case)), nam_hoc=NAM_HOC, expectations=False)
    assert outcome.ok and outcome.data is not None
    assert outcome.data.hoc_sinh.height == 25
    assert all(p.severity is Severity.WARN for p in outcome.problems)
