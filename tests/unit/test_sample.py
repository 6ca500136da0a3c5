"""The bundled sample school: deterministic, realistic, and inside every TT27 rule."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import polars as pl
import pytest

from hocbaso import tt27
from hocbaso.config import Workspace
from hocbaso.demo import bundled
from hocbaso.demo.sample import generate_school, write_xlsx
from hocbaso.ingest import ROW, read_bang_tong_hop, read_source
from hocbaso.model import KHEN_THUONG_HTT, KHEN_THUONG_HTXS
from validation.gates import run_gates

# The package data as the imported package finds it (a folder on disk in a source tree).
DATA = Path(str(bundled.bundled_data()))
#: The CSV form of the same school, kept in the repository beside the generator.
CSV_SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample"
Tables = dict[str, pl.DataFrame]


@pytest.fixture(scope="module")
def school() -> Tables:
    return generate_school()


def test_same_seed_same_school_other_seed_other_school() -> None:
    a, b = generate_school(120, seed=5), generate_school(120, seed=5)
    assert all(a[t].equals(b[t]) for t in a)
    c = generate_school(120, seed=6)
    assert not c["hoc_sinh"].equals(a["hoc_sinh"])


def test_xlsx_bytes_are_reproducible(tmp_path: Path) -> None:
    tables = generate_school(50, seed=1)
    one, two = write_xlsx(tables, tmp_path / "a.xlsx"), write_xlsx(tables, tmp_path / "b.xlsx")
    assert one.read_bytes() == two.read_bytes()


def test_committed_sample_is_the_generator_output(school: Tables) -> None:
    for source in (CSV_SAMPLE, DATA / "sample.xlsx"):
        raw = read_source(source)
        for table, frame in school.items():
            assert raw.frame(table).drop(ROW).equals(frame), f"{source.name}:{table}"


def test_sample_passes_every_gate(school: Tables) -> None:
    outcome = run_gates(read_source(DATA / "sample.xlsx"), nam_hoc="2025-2026")
    assert outcome.ok
    assert outcome.problems == []


def test_school_shape(school: Tables) -> None:
    hs, lop, gv = school["hoc_sinh"], school["lop"], school["giao_vien"]
    assert hs.height == 1000
    sizes = sorted(hs.group_by("ma_lop").len()["len"].to_list())
    assert sizes[0] >= 30 and sizes[-1] <= 40
    assert sorted(lop["khoi"].unique().to_list()) == ["1", "2", "3", "4", "5"]
    for col in ("ma_hoc_sinh", "so_dinh_danh"):
        assert hs[col].n_unique() == hs.height
    assert hs["so_dinh_danh"].str.contains(r"^\d{12}$").all()
    assert gv["so_dinh_danh"].str.contains(r"^\d{12}$").all()
    assert max(hs["ma_hoc_sinh"].str.len_chars().to_list()) <= 20
    roles = gv["chuc_vu"].value_counts().sort("chuc_vu")
    assert dict(roles.iter_rows()) == {
        "Hiệu trưởng": 1,
        "Phó hiệu trưởng": 1,
        "Nhân viên": 1,
        "Giáo viên": gv.height - 3,
    }
    assert lop["ma_gvcn"].n_unique() == lop.height


def test_names_are_vietnamese_and_nfc(school: Tables) -> None:
    names = school["hoc_sinh"]["ho_ten"].to_list()
    assert all(unicodedata.is_normalized("NFC", n) for n in names)
    families = {n.split()[0] for n in names}
    assert {"Nguyễn", "Trần", "Lê", "Phạm"} <= families
    assert len(set(names)) > 800
    women = school["hoc_sinh"].filter(pl.col("gioi_tinh") == "Nữ")["ho_ten"]
    assert women.str.contains(" Thị ").any()


def test_result_distribution(school: Tables) -> None:
    outcome = run_gates(read_source(CSV_SAMPLE), nam_hoc="2025-2026", expectations=False)
    assert outcome.data is not None
    results = tt27.compute_results(outcome.data)["danh_gia"].drop_nulls()
    counts = dict(results.value_counts().iter_rows())
    total = sum(counts.values())
    assert 0.10 <= counts["HTXS"] / total <= 0.15
    assert 0.02 <= counts["CHT"] / total <= 0.03
    assert counts["HT"] > counts["HTT"] > counts["HTXS"]
    assert school["tong_hop"]["danh_gia"].null_count() > 50  # left for the pipeline to compute


def test_special_cases_present(school: Tables) -> None:
    kqm, hs, th = school["ket_qua_mon"], school["hoc_sinh"], school["tong_hop"]
    grade = hs.join(school["lop"], on="ma_lop").select("ma_hoc_sinh", "khoi")
    kqm = kqm.join(grade, on="ma_hoc_sinh")
    exempt = kqm.filter(pl.col("muc_dat") == "M")
    assert exempt.height >= 3 and (exempt["diem_ktdk"] == "M").all()
    assert kqm.filter((pl.col("mon_hoc") == "NN1") & pl.col("khoi").is_in(["1", "2"])).height > 20
    assert kqm.filter(pl.col("mon_hoc") == "TDT").height > 5
    not_assessed = hs.filter(pl.col("khuyet_tat_khong_danh_gia") == "1")["ma_hoc_sinh"]
    assert 1 <= not_assessed.len() <= 2
    assert (
        school["pham_chat_nang_luc"]
        .filter(pl.col("ma_hoc_sinh").is_in(not_assessed.implode()))
        .height
        == 0
    )
    assert (
        th.filter(pl.col("ma_hoc_sinh").is_in(not_assessed.implode()))["danh_gia"].null_count()
        == not_assessed.len()
    )
    supplementary = th.filter(pl.col("danh_gia_bo_sung") == "1")
    assert supplementary.height >= 3
    assert supplementary["len_lop"].drop_nulls().len() >= 1
    assert th.filter(pl.col("khen_thuong") == KHEN_THUONG_HTXS).height > 50
    assert th.filter(pl.col("khen_thuong") == KHEN_THUONG_HTT).height > 50
    assert th["khen_thuong_dot_xuat"].drop_nulls().len() >= 5


def test_scores_exactly_where_the_grade_has_a_test(school: Tables) -> None:
    grade = school["hoc_sinh"].join(school["lop"], on="ma_lop").select("ma_hoc_sinh", "khoi")
    rows = school["ket_qua_mon"].join(grade, on="ma_hoc_sinh")
    for mon, khoi, muc, diem in (
        rows.select("mon_hoc", "khoi", "muc_dat", "diem_ktdk").unique().iter_rows()
    ):
        if muc == "M":
            continue
        assert (diem is not None) == tt27.has_periodic_test(mon, int(khoi)), (mon, khoi)


def test_sample_school_toml_loads_and_names_real_staff(school: Tables) -> None:
    config = Workspace(DATA).load_config()
    assert config.nam_hoc.nam_hoc == "2025-2026"
    assert str(config.nam_hoc.han_nop_chinh) == "2026-05-16"
    assert str(config.nam_hoc.han_nop_bo_sung) == "2026-08-25"
    assert config.truong.ma_so_gd == "99"
    assert (config.chung_thu.che_do, config.registry.che_do) == ("demo", "gia_lap")
    roles = dict(school["giao_vien"].select("ma_giao_vien", "chuc_vu").iter_rows())
    assert roles[config.ky.hieu_truong] == "Hiệu trưởng"
    assert roles[config.ky.giu_dau] == "Nhân viên"


def test_committed_class_summary_is_the_generator_output(school: Tables) -> None:
    raw = read_bang_tong_hop(DATA / "sample-bang-tong-hop.xlsx")
    expected = {
        **school,
        "pham_chat_nang_luc": school["pham_chat_nang_luc"].with_columns(
            pl.lit(None, pl.String).alias("nhan_xet")
        ),
    }
    for table, frame in expected.items():
        got = raw.frame(table).drop(ROW)
        assert got.sort(got.columns).equals(frame.sort(frame.columns)), table
