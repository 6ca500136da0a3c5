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
    warnings = tuple((p.table, p.sheet_row, p.column, p.rule) for p in outcome.problems)
    assert warnings == case.build().warnings


def test_every_gate_rule_has_a_case() -> None:
    """Each rule of the row, reference and TT27 gates is triggered by at least one file."""
    from badinput.corpus import coverage
    from validation.rows import RULES

    covered = set(coverage())
    row_rules = {r for r in RULES if not r.startswith("toi_da_")} | {"toi_da_150_ky_tu"}
    reference_rules = {
        "trung_ma_lop",
        "trung_ma_giao_vien",
        "trung_so_dinh_danh_giao_vien",
        "trung_ma_hoc_sinh",
        "trung_so_dinh_danh_hoc_sinh",
        "trung_mon_hoc",
        "trung_tieu_chi",
        "trung_tong_hop",
        "gvcn_khong_co",
        "lop_khong_co",
        "hoc_sinh_khong_co",
        "so_dinh_danh_gvcn",
        "lop_khong_co_hoc_sinh",
    }
    tt27_rules = {
        "mon_khong_hoc_o_khoi",
        "thieu_diem_ktdk",
        "diem_m_khi_khong_mien",
        "mien_thi_diem_m",
        "mon_khong_co_kiem_tra",
        "thieu_mon_bat_buoc",
        "tieu_chi_khong_ap_dung",
        "thieu_pham_chat_nang_luc",
        "danh_gia_khac_tt27",
        "khen_thuong_htxs",
        "khen_thuong_htt",
        "khen_thuong_ngoai_mau",
        "hoan_thanh_thi_len_lop",
        "len_lop_truoc_bo_sung",
        "thieu_tong_hop",
        "tuoi_ngoai_5_16",
        "tuoi_khac_khoi",
    }
    assert (row_rules | reference_rules | tt27_rules) - covered == set()
