"""Gate 4, expectations: is the dataset as a whole plausible? (Great Expectations)

The first three gates judge cells, codes and rules; a file can pass them all and
still be wrong as a whole: a class where more than half the students did not
complete the grade, a subject where every student got the same score (a column
filled down by mistake), a class of 80. Such findings are WARNs for a human to
look at, never ERRORs: the data is legal, only unusual.

The expectations run on small frames derived with polars (one row per class, one
per class and subject) plus a few on the source tables (completeness,
uniqueness); each carries its rule id, table and message template in ``meta``,
and the results are reshaped into the same ``Problem`` values as the other gates.
Great Expectations costs ~4 s to import, so it is imported inside
``check_expectations`` only; its progress bars and analytics are switched off;
its Data Docs go into the workspace when a folder is given.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from hocbaso import tt27
from hocbaso.dataset import TABLE_SCHEMAS, SchoolData, empty_frame
from hocbaso.ingest import ROW
from hocbaso.model import SUBJECT_BY_CODE
from validation.report import GateReport, Problem, Severity
from validation.typed import typed

_INDEX = "_i"  # a unique row index GE reports offending rows by (derived frames repeat _row)

#: A class where more than this share did not complete the grade is unusual.
MAX_SHARE_CHT = 0.5
#: A class where (almost) everyone is HTXS is unusual.
MAX_SHARE_HTXS = 0.9
#: Far above the 35 of the school charter (Điều lệ trường tiểu học): likely two classes merged.
MAX_CLASS_SIZE = 45
#: A (class, subject) with at least this many scores should not have a single value.
MIN_SCORES_FOR_SPREAD = 5
#: Optional columns a record prints: warn when most students lack them.
MOSTLY_PRESENT: Mapping[str, Mapping[str, float]] = {
    "hoc_sinh": {"que_quan": 0.8, "noi_o": 0.8, "chieu_cao": 0.8, "can_nang": 0.8},
    "tong_hop": {"nhan_xet_nang_luc_chung": 0.8, "nhan_xet_nang_luc_dac_thu": 0.8},
}


@dataclass(frozen=True)
class _Spec:
    """One expectation: the GE class name and kwargs, and how to tell the school."""

    frame: str  # which derived or source frame it runs on
    expectation: str  # GE class name in great_expectations.expectations
    kwargs: Mapping[str, Any]
    rule: str
    table: str  # the table the problem is reported on
    column: str  # the column the problem is reported on
    message: str  # formatted with the offending row's columns (or observed values)


def _class_frames(valid: Mapping[str, pl.DataFrame]) -> dict[str, pl.DataFrame]:
    """One row per class (size, shares of CHT/HTXS) and per class and subject (scores)."""
    data = SchoolData(
        **{t: typed(t, valid[t]) if t in valid else empty_frame(t) for t in TABLE_SCHEMAS}
    )
    results = tt27.compute_results(data)
    lop = valid["lop"].select("ma_lop", ROW)
    classes = (
        results.group_by("ma_lop")
        .agg(
            pl.len().alias("si_so"),
            (pl.col("danh_gia") == "CHT").mean().alias("ti_le_cht"),
            (pl.col("danh_gia") == "HTXS").mean().alias("ti_le_htxs"),
        )
        .join(lop, on="ma_lop", how="inner")
        .sort(ROW)
    )
    scores = (
        valid["ket_qua_mon"]
        .filter(pl.col("diem_ktdk").is_not_null() & (pl.col("diem_ktdk") != "M"))
        .join(valid["hoc_sinh"].select("ma_hoc_sinh", "ma_lop"), on="ma_hoc_sinh")
        .group_by("ma_lop", "mon_hoc")
        .agg(
            pl.len().alias("so_diem"),
            pl.col("diem_ktdk").n_unique().alias("so_muc_diem"),
            pl.col("diem_ktdk").first().alias("diem"),
        )
        .filter(pl.col("so_diem") >= MIN_SCORES_FOR_SPREAD)
        .join(lop, on="ma_lop", how="inner")
        .with_columns(
            pl.col("mon_hoc")
            .replace_strict(
                {c: s.ten for c, s in SUBJECT_BY_CODE.items()},
                default=pl.col("mon_hoc"),
                return_dtype=pl.String,
            )
            .alias("ten_mon")
        )
        .sort(ROW, "mon_hoc")
    )
    return {"lop_tong_hop": classes, "lop_mon_diem": scores}


def _specs() -> list[_Spec]:
    specs = [
        _Spec(
            "lop_tong_hop",
            "ExpectColumnValuesToBeBetween",
            {"column": "ti_le_cht", "max_value": MAX_SHARE_CHT},
            "lop_qua_nua_cht",
            "lop",
            "ma_lop",
            "Lớp {ma_lop} có {ti_le_cht:.0%} học sinh Chưa hoàn thành (hơn một nửa): kiểm tra "
            "lại mức đạt được và điểm của lớp trước khi chốt.",
        ),
        _Spec(
            "lop_tong_hop",
            "ExpectColumnValuesToBeBetween",
            {"column": "ti_le_htxs", "max_value": MAX_SHARE_HTXS},
            "lop_gan_het_htxs",
            "lop",
            "ma_lop",
            "Lớp {ma_lop} có {ti_le_htxs:.0%} học sinh Hoàn thành xuất sắc: kiểm tra lại xem dữ "
            "liệu có bị chép nhầm cả cột không.",
        ),
        _Spec(
            "lop_tong_hop",
            "ExpectColumnValuesToBeBetween",
            {"column": "si_so", "max_value": MAX_CLASS_SIZE},
            "si_so_qua_lon",
            "lop",
            "ma_lop",
            "Lớp {ma_lop} có {si_so} học sinh, vượt xa sĩ số thường gặp: kiểm tra cột ma_lop "
            "của bảng hoc_sinh (có thể hai lớp bị gộp).",
        ),
        _Spec(
            "lop_mon_diem",
            "ExpectColumnValuesToBeBetween",
            {"column": "so_muc_diem", "min_value": 2},
            "diem_giong_het",
            "lop",
            "ma_lop",
            "Lớp {ma_lop}: cả {so_diem} học sinh đều có điểm {diem} môn {ten_mon}: kiểm tra "
            "xem cột điểm có bị kéo (fill) nhầm không.",
        ),
        _Spec(
            "hoc_sinh",
            "ExpectColumnValuesToBeUnique",
            {"column": "ma_hoc_sinh"},
            "ma_hoc_sinh_duy_nhat",
            "hoc_sinh",
            "ma_hoc_sinh",
            "Mã học sinh {ma_hoc_sinh} xuất hiện nhiều lần.",
        ),
        _Spec(
            "hoc_sinh",
            "ExpectColumnValuesToBeUnique",
            {"column": "so_dinh_danh"},
            "so_dinh_danh_duy_nhat",
            "hoc_sinh",
            "so_dinh_danh",
            "Số định danh {so_dinh_danh} xuất hiện nhiều lần.",
        ),
    ]
    for table, columns in MOSTLY_PRESENT.items():
        for column, mostly in columns.items():
            specs.append(
                _Spec(
                    table,
                    "ExpectColumnValuesToNotBeNull",
                    {"column": column, "mostly": mostly},
                    "cot_thuong_trong",
                    table,
                    column,
                    f"Cột {column} đang trống ở {{ti_le_trong:.0%}} số dòng (thường phải có ở ít "
                    f"nhất {mostly:.0%}): học bạ sẽ in trống mục này — bổ sung nếu có thể.",
                )
            )
    return specs


def _quiet_context(docs_dir: Path | None) -> Any:
    """An in-memory GE context: no analytics, no progress bars, Data Docs in ``docs_dir``."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    sites = {}
    if docs_dir is not None:
        sites["hbs"] = {
            "class_name": "SiteBuilder",
            "store_backend": {
                "class_name": "TupleFilesystemStoreBackend",
                "base_directory": str(docs_dir),
            },
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
        }
    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False, metric_calculations=False),
        data_docs_sites=sites,
    )
    return gx.get_context(mode="ephemeral", project_config=config)


def _plain(value: Any) -> Any:
    """numpy scalars (what GE hands back) as Python values."""
    return value.item() if hasattr(value, "item") else value


def check_expectations(
    valid: Mapping[str, pl.DataFrame], *, dataset: str, docs_dir: Path | None = None
) -> GateReport:
    """Run the dataset expectations on the rows that passed the other gates (all WARN).

    ``valid``: per table, the text rows with their ``_row``; ``docs_dir``: where Great
    Expectations writes its Data Docs (an HTML site; ``index.html`` at the top).
    """
    frames = {**{t: f for t, f in valid.items()}, **_class_frames(valid)}
    specs = _specs()
    with contextlib.redirect_stderr(io.StringIO()):  # GE/tqdm chatter must not reach the user
        import great_expectations as gx
        import great_expectations.expectations as gxe
        from great_expectations.checkpoint import ValidationAction

        context = _quiet_context(docs_dir)
        source = context.data_sources.add_pandas("hbs")
        definitions = []
        for name in sorted({s.frame for s in specs}):
            asset = source.add_dataframe_asset(name=name)
            batch = asset.add_batch_definition_whole_dataframe(name)
            suite = context.suites.add(gx.ExpectationSuite(name=name))
            for i, spec in enumerate(s for s in specs if s.frame == name):
                cls = getattr(gxe, spec.expectation)
                suite.add_expectation(cls(**spec.kwargs, meta={"spec": i}))
            definitions.append(
                (
                    name,
                    context.validation_definitions.add(
                        gx.ValidationDefinition(data=batch, suite=suite, name=name)
                    ),
                )
            )
        problems: list[Problem] = []
        to_run = [(n, d) for n, d in definitions if frames[n].height]
        for name, definition in to_run:
            frame = frames[name]
            actions: list[ValidationAction] = []
            checkpoint = context.checkpoints.add(
                gx.Checkpoint(
                    name=f"hbs-{name}",
                    validation_definitions=[definition],
                    actions=actions,
                    result_format={
                        "result_format": "COMPLETE",
                        "unexpected_index_column_names": [_INDEX],
                    },
                )
            )
            indexed = frame.with_row_index(_INDEX)
            outcome = checkpoint.run(batch_parameters={"dataframe": indexed.to_pandas()})
            own = [s for s in specs if s.frame == name]
            for run in outcome.run_results.values():
                for result in run.results:
                    if result.success:
                        continue
                    spec = own[int(result.expectation_config.meta["spec"])]
                    problems.extend(_problems(spec, indexed, result.result))
        if docs_dir is not None and to_run:
            # One Data Docs build for every table: an UpdateDataDocsAction per checkpoint
            # rebuilt the whole site each time (~0.5 s a table).
            context.build_data_docs()
    problems.sort(key=lambda p: (p.table, p.sheet_row or 0, p.column or "", p.rule))
    checked = sum(f.height for t, f in valid.items())
    return GateReport("expectations", dataset, checked, tuple(problems))


def _problems(spec: _Spec, frame: pl.DataFrame, result: Mapping[str, Any]) -> list[Problem]:
    """Reshape one failed expectation into problems on the rows GE names."""
    if spec.expectation == "ExpectColumnValuesToNotBeNull":
        share = float(_plain(result.get("unexpected_percent", 0.0))) / 100
        return [
            Problem(
                spec.table,
                None,
                spec.column,
                spec.rule,
                None,
                spec.message.format(ti_le_trong=share),
                Severity.WARN,
            )
        ]
    index = sorted({int(_plain(item[_INDEX])) for item in result.get("unexpected_index_list", [])})
    hits = frame.filter(pl.col(_INDEX).is_in(index)).sort(ROW)
    return [
        Problem(
            spec.table,
            row[ROW],
            spec.column,
            spec.rule,
            str(row[spec.column]),
            spec.message.format(**row),
            Severity.WARN,
        )
        for row in hits.iter_rows(named=True)
    ]
