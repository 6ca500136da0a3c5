"""The store: atomic imports, record states, and the audit hash chain (real DuckDB files)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl
import pytest

from hocbaso import tt27
from hocbaso.dataset import SchoolData, conform
from hocbaso.demo.sample import generate_school
from hocbaso.errors import TransitionError
from hocbaso.model import TrangThai
from hocbaso.states import LOCK, SIGN_GVCN
from hocbaso.store import (
    RecordChange,
    Store,
    apply_import,
    apply_transition,
    current_records,
    record,
    transition,
)
from hocbaso.store.audit import verify_chain

NAM_HOC = "2025-2026"


def _school(n: int = 40, seed: int = 3) -> SchoolData:
    """A generated school, typed as the gates would hand it over."""
    raw = generate_school(n_students=n, seed=seed)
    typed = {}
    for table, frame in raw.items():
        casts = {
            "khoi": pl.Int8,
            "chieu_cao": pl.Float64,
            "can_nang": pl.Float64,
            "nghi_co_phep": pl.Int16,
            "nghi_khong_phep": pl.Int16,
        }
        frame = frame.with_columns(
            [pl.col(c).cast(t) for c, t in casts.items() if c in frame.columns]
            + [
                (pl.col(c) == "1")
                for c in ("khuyet_tat_khong_danh_gia", "danh_gia_bo_sung", "len_lop")
                if c in frame.columns
            ]
            + ([pl.col("ngay_sinh").str.to_date()] if "ngay_sinh" in frame.columns else [])
        )
        typed[table] = conform(table, frame)
    return SchoolData(**typed)


def _load(store: Store, data: SchoolData) -> None:
    apply_import(
        store,
        data,
        tt27.compute_results(data),
        nam_hoc=NAM_HOC,
        nguon="t.xlsx",
        sha256_nguon="0" * 64,
    )


def test_import_creates_one_draft_per_student_and_public_views(tmp_path: Path) -> None:
    store = Store(tmp_path / "hbs.duckdb")
    data = _school()
    _load(store, data)
    with store.connect() as con:
        assert con.execute("SELECT count(*) FROM v_hoc_sinh").fetchone() == (40,)
        assert con.execute("SELECT count(*) FROM v_danh_gia_cuoi_nam").fetchone() == (40,)
        assert con.execute(
            "SELECT count(*), count(DISTINCT ma_hoc_ba) FROM v_hoc_ba WHERE trang_thai='draft'"
        ).fetchone() == (40, 40)


def test_reimport_never_changes_a_locked_record_and_reports_it(tmp_path: Path) -> None:
    store = Store(tmp_path / "hbs.duckdb")
    data = _school()
    _load(store, data)
    first = current_records(store)[0]
    transition(store, [RecordChange(first.ma_hoc_ba, {"sha256": "x" * 64})], LOCK)
    changed = data.hoc_sinh.with_columns(pl.lit("Tên Đã Sửa").alias("ho_ten"))
    corrected = SchoolData(**{**data.tables(), "hoc_sinh": changed})
    summary = apply_import(
        store,
        corrected,
        tt27.compute_results(corrected),
        nam_hoc=NAM_HOC,
        nguon="t2.xlsx",
        sha256_nguon="1" * 64,
    )
    assert summary.doi_du_lieu == 40
    assert summary.giu_nguyen_da_khoa == [first.ma_hoc_ba]
    names = dict(store.frame("SELECT ma_hoc_sinh, ho_ten FROM hoc_sinh").iter_rows())
    assert names[first.ma_hoc_sinh] != "Tên Đã Sửa"
    assert sum(1 for v in names.values() if v == "Tên Đã Sửa") == 39
    # The locked record keeps its id; no duplicate draft appeared.
    assert len(current_records(store)) == 40


def test_reimport_counts_exactly_the_pupils_whose_rows_changed(tmp_path: Path) -> None:
    """The per-pupil digests: the same rows in another order are no change; one changed
    comment of one subject is one pupil changed, whichever table it is in."""
    store = Store(tmp_path / "hbs.duckdb")
    data = _school()
    _load(store, data)

    def reimport(again: SchoolData, n: int) -> int:
        summary = apply_import(
            store,
            again,
            tt27.compute_results(again),
            nam_hoc=NAM_HOC,
            nguon="t.xlsx",
            sha256_nguon=f"{n}" * 64,
        )
        return summary.doi_du_lieu

    shuffled = SchoolData(
        **{t: f.sample(fraction=1.0, shuffle=True, seed=1) for t, f in data.tables().items()}
    )
    assert reimport(shuffled, 1) == 0
    one = data.ket_qua_mon["ma_hoc_sinh"][5]
    first_row = pl.int_range(pl.len()) == pl.col("ma_hoc_sinh").eq(one).arg_true().first()
    edited = data.ket_qua_mon.with_columns(
        pl.when(first_row).then(pl.lit("Nhận xét đã sửa")).otherwise("nhan_xet").alias("nhan_xet")
    )
    assert reimport(SchoolData(**{**data.tables(), "ket_qua_mon": edited}), 2) == 1
    assert reimport(data, 3) == 1  # and back


def test_reimport_without_a_student_removes_only_their_draft(tmp_path: Path) -> None:
    store = Store(tmp_path / "hbs.duckdb")
    data = _school()
    _load(store, data)
    gone = data.hoc_sinh["ma_hoc_sinh"][0]
    smaller = SchoolData(
        **{
            t: f.filter(pl.col("ma_hoc_sinh") != gone) if "ma_hoc_sinh" in f.columns else f
            for t, f in data.tables().items()
        }
    )
    summary = apply_import(
        store,
        smaller,
        tt27.compute_results(smaller),
        nam_hoc=NAM_HOC,
        nguon="t3.xlsx",
        sha256_nguon="2" * 64,
    )
    assert (summary.them, summary.bot) == (0, 1)
    assert gone not in {r.ma_hoc_sinh for r in current_records(store)}


def test_a_batch_moves_together_or_not_at_all(tmp_path: Path) -> None:
    store = Store(tmp_path / "hbs.duckdb")
    _load(store, _school())
    a, b = current_records(store)[:2]
    transition(store, [RecordChange(a.ma_hoc_ba)], LOCK)
    with pytest.raises(TransitionError, match="không thể GVCN ký"):
        # b is still a draft: a draft cannot be signed, so neither record moves.
        transition(store, [RecordChange(a.ma_hoc_ba), RecordChange(b.ma_hoc_ba)], SIGN_GVCN)
    states = dict(store.frame("SELECT ma_hoc_ba, trang_thai FROM hoc_ba").iter_rows())
    assert states[a.ma_hoc_ba] == "locked" and states[b.ma_hoc_ba] == "draft"


def test_audit_chain_detects_an_edited_a_deleted_and_a_reordered_event(tmp_path: Path) -> None:
    store = Store(tmp_path / "hbs.duckdb")
    _load(store, _school())
    ids = [r.ma_hoc_ba for r in current_records(store)[:5]]
    for ma in ids:
        transition(store, [RecordChange(ma)], LOCK)
    with store.connect() as con:
        check = verify_chain(con)
    assert check.intact and check.events == 6

    def tampered(sql: str) -> int | None:
        copy = tmp_path / f"copy-{abs(hash(sql))}.duckdb"
        copy.write_bytes(store.path.read_bytes())
        con = duckdb.connect(str(copy))
        con.execute(sql)
        result = verify_chain(con).first_broken
        con.close()
        return result

    assert tampered("UPDATE su_kien SET vai_tro = 'ke_gian' WHERE so_thu_tu = 3") == 3
    assert tampered("DELETE FROM su_kien WHERE so_thu_tu = 4") == 5
    assert tampered("UPDATE su_kien SET so_thu_tu = so_thu_tu + 100 WHERE so_thu_tu = 2") == 3


# --- The state table -----------------------------------------------------------------

S = TrangThai

EXPECTED_MOVES = {
    (S.DRAFT, S.LOCKED),
    (S.LOCKED, S.SIGNED_GVCN),
    (S.SIGNED_GVCN, S.SIGNED_HT),
    (S.SIGNED_HT, S.SEALED),
    (S.SEALED, S.SUBMITTED),
    (S.SUBMITTED, S.SUBMITTED),  # sent again when the answer never came
    (S.SUBMITTED, S.ACCEPTED),
    (S.SUBMITTED, S.REJECTED),
    (S.LOCKED, S.DRAFT),
    (S.SIGNED_GVCN, S.DRAFT),
    (S.SIGNED_HT, S.DRAFT),
    (S.REJECTED, S.DRAFT),  # the way out of a refusal: the principal's unlock
    (S.ACCEPTED, S.REVOKED),
}


def _set_state(store: Store, ma_hoc_ba: str, state: TrangThai) -> None:
    """Put a record in any state directly (test set-up only)."""
    with store.transaction() as con:
        con.execute(
            "UPDATE hoc_ba SET trang_thai = $1 WHERE ma_hoc_ba = $2", [state.value, ma_hoc_ba]
        )


def test_the_store_allows_exactly_the_moves_of_the_step_table() -> None:
    from hocbaso.states import ALLOWED, STEPS
    from hocbaso.store import ALLOWED as STORE_ALLOWED

    assert STORE_ALLOWED is ALLOWED
    allowed = {(a, b) for a, targets in ALLOWED.items() for b in targets}
    assert allowed == EXPECTED_MOVES
    assert allowed == {(a, step.gives) for step in STEPS for a in step.takes}
    assert not ALLOWED[S.REVOKED]  # a revoked version is final; the next one is a new row


def test_every_step_moves_a_record_from_each_state_it_takes_and_from_no_other(
    tmp_path: Path,
) -> None:
    from hocbaso.states import STEPS

    store = Store(tmp_path / "hbs.duckdb")
    _load(store, _school(n=5))
    ma = current_records(store)[0].ma_hoc_ba
    for step in STEPS:
        for state in TrangThai:
            _set_state(store, ma, state)
            if step.moves(state):
                transition(store, [RecordChange(ma)], step)
                moved = record(store, ma)
                assert moved is not None and moved.trang_thai == step.gives, (step.name, state)
            else:
                with pytest.raises(TransitionError):
                    transition(store, [RecordChange(ma)], step)
                still = record(store, ma)
                assert still is not None and still.trang_thai == state, (step.name, state)
    with store.connect() as con:
        assert verify_chain(con).intact


def test_a_wrong_state_batch_moves_nothing_and_writes_no_event(tmp_path: Path) -> None:
    from hocbaso.states import SEAL

    store = Store(tmp_path / "hbs.duckdb")
    _load(store, _school(n=10))
    ids = [r.ma_hoc_ba for r in current_records(store)]
    for ma in ids[:-1]:
        _set_state(store, ma, S.SIGNED_HT)
    events = store.frame("SELECT count(*) AS n FROM su_kien")["n"][0]
    with pytest.raises(TransitionError, match=ids[-1]):
        transition(store, [RecordChange(ma, {"sha256": "y" * 64}) for ma in ids], SEAL)
    assert {r.trang_thai for r in current_records(store)} == {S.SIGNED_HT, S.DRAFT}
    assert all(r.sha256 is None for r in current_records(store))
    assert store.frame("SELECT count(*) AS n FROM su_kien")["n"][0] == events


def test_audit_events_name_the_steps_actor_and_action(tmp_path: Path) -> None:
    from hocbaso.states import SIGN_HT, SIGN_STEPS

    assert SIGN_STEPS["ht"] is SIGN_HT
    store = Store(tmp_path / "hbs.duckdb")
    _load(store, _school(n=5))
    ma = current_records(store)[0].ma_hoc_ba
    _set_state(store, ma, S.SIGNED_GVCN)
    transition(store, [RecordChange(ma)], SIGN_HT)
    row = store.frame(
        "SELECT vai_tro, hanh_dong, chi_tiet FROM su_kien ORDER BY so_thu_tu DESC LIMIT 1"
    ).row(0)
    assert row[:2] == ("hieu_truong", "ky_ht")
    assert '"den":"signed_ht"' in row[2] and '"tu":"signed_gvcn"' in row[2]


# --- The store API -----------------------------------------------------------------


def test_stored_records_are_typed_and_name_their_file_digests(tmp_path: Path) -> None:
    from hocbaso.errors import RecordError
    from hocbaso.store import StoredRecord

    store = Store(tmp_path / "hbs.duckdb")
    _load(store, _school(n=5))
    draft = current_records(store)[0]
    assert isinstance(draft, StoredRecord) and draft.trang_thai is S.DRAFT
    assert (draft.phien_ban, draft.nam_hoc) == (1, NAM_HOC)
    assert draft.pdf_sha256 is None and draft.xml_sha256 is None
    with pytest.raises(RecordError, match="chưa có tệp"):
        _ = draft.files
    pdf_sha, xml_sha = "a" * 64, "b" * 64
    values = {
        "sha256_du_lieu": "c" * 64,
        "sha256": xml_sha,
        "xml_path": f"tep/bb/{xml_sha}.xml",
        "pdf_path": f"tep/aa/{pdf_sha}.pdf",
    }
    transition(store, [RecordChange(draft.ma_hoc_ba, values)], LOCK)
    locked = record(store, draft.ma_hoc_ba)
    assert locked is not None and locked.trang_thai is S.LOCKED
    assert (locked.pdf_sha256, locked.xml_sha256) == (pdf_sha, xml_sha)
    assert locked.files.pdf_path == values["pdf_path"]
    assert locked.files.data_sha256 == "c" * 64
    assert record(store, "khong-co") is None
    assert [r.ma_hoc_ba for r in current_records(store, states=[S.LOCKED])] == [draft.ma_hoc_ba]
    ma_lop = draft.ma_lop
    assert {r.ma_lop for r in current_records(store, ma_lop=ma_lop)} == {ma_lop}


def test_classes_waiting_for_a_step(tmp_path: Path) -> None:
    from hocbaso.states import SEAL, SUBMIT, UNLOCK
    from hocbaso.store import classes_waiting

    store = Store(tmp_path / "hbs.duckdb")
    _load(store, _school(n=20))
    records = current_records(store)
    all_classes = sorted({r.ma_lop for r in records})
    assert classes_waiting(store, LOCK) == all_classes
    assert classes_waiting(store, SEAL) == []
    first = records[0]
    _set_state(store, first.ma_hoc_ba, S.SUBMITTED)
    assert classes_waiting(store, SUBMIT) == [first.ma_lop]
    assert classes_waiting(store, SUBMIT, ma_lop=first.ma_lop) == [first.ma_lop]
    other = next(c for c in all_classes if c != first.ma_lop)
    assert classes_waiting(store, SUBMIT, ma_lop=other) == []
    # A refused record waits for the principal's unlock, not for another submit.
    _set_state(store, first.ma_hoc_ba, S.REJECTED)
    assert classes_waiting(store, SUBMIT) == []
    assert classes_waiting(store, UNLOCK) == [first.ma_lop]


def test_a_revoked_record_opens_its_next_version_and_only_that_one_is_current(
    tmp_path: Path,
) -> None:
    from hocbaso.states import REVOKE
    from hocbaso.store import open_next_version

    store = Store(tmp_path / "hbs.duckdb")
    _load(store, _school(n=5))
    old = current_records(store)[0]
    _set_state(store, old.ma_hoc_ba, S.ACCEPTED)
    with pytest.raises(TransitionError, match="chưa bị thu hồi"), store.transaction() as con:
        open_next_version(con, old, vai_tro="hieu_truong")
    with store.transaction() as con:
        apply_transition(con, [RecordChange(old.ma_hoc_ba, {}, {"ly_do": "sai"})], REVOKE)
        new_id = open_next_version(
            con, old, vai_tro="hieu_truong", extra_events=[(None, {"bang_chung": "x"})]
        )
    new = record(store, new_id)
    assert new is not None
    assert (new.phien_ban, new.thay_the, new.trang_thai) == (2, old.ma_hoc_ba, S.DRAFT)
    assert (new.ma_hoc_sinh, new.ma_lop, new.nam_hoc) == (old.ma_hoc_sinh, old.ma_lop, NAM_HOC)
    current = current_records(store)
    assert len(current) == 5 and new_id in {r.ma_hoc_ba for r in current}
    assert old.ma_hoc_ba not in {r.ma_hoc_ba for r in current}
    actions = store.frame("SELECT hanh_dong FROM su_kien ORDER BY so_thu_tu")["hanh_dong"]
    assert actions.to_list()[-3:] == ["thu_hoi", "phien_ban_moi", "phien_ban_moi"]
    with store.connect() as con:
        # The current-version view keeps the public columns of v_hoc_ba.
        cols = [d[0] for d in con.execute("SELECT * FROM v_hoc_ba LIMIT 0").description]
        cur = [d[0] for d in con.execute("SELECT * FROM v_hoc_ba_hien_hanh LIMIT 0").description]
        assert cur == cols
        assert con.execute("SELECT count(*) FROM v_hoc_ba_hien_hanh").fetchone() == (5,)
        assert con.execute("SELECT count(*) FROM v_hoc_ba").fetchone() == (6,)


def test_public_view_columns_are_unchanged(tmp_path: Path) -> None:
    store = Store(tmp_path / "hbs.duckdb")
    _load(store, _school(n=5))
    with store.connect() as con:
        cols = [d[0] for d in con.execute("SELECT * FROM v_hoc_ba LIMIT 0").description]
    assert cols == [
        "ma_hoc_ba",
        "ma_hoc_sinh",
        "nam_hoc",
        "phien_ban",
        "trang_thai",
        "sha256",
        "xml_path",
        "pdf_path",
        "ma_tra_cuu",
        "ma_lop",
        "thay_the",
        "sha256_du_lieu",
        "ngay_nhan",
        "ma_loi",
    ]


def test_staff_and_classes_readers(tmp_path: Path) -> None:
    from hocbaso.store import classes, staff

    store = Store(tmp_path / "hbs.duckdb")
    data = _school(n=10)
    _load(store, data)
    people = staff(store)
    assert [p.ma_giao_vien for p in people] == sorted(data.giao_vien["ma_giao_vien"].to_list())
    assert all(p.ho_ten for p in people)
    rooms = classes(store)
    assert [c.ma_lop for c in rooms] == sorted(data.lop["ma_lop"].to_list())
    assert {c.ma_gvcn for c in rooms} <= {p.ma_giao_vien for p in people}
    assert all(isinstance(c.khoi, int) for c in rooms)


# --- Receipts and the way out of REJECTED -------------------------------------------


def _submitted(store: Store, n: int) -> list[str]:
    ids = [r.ma_hoc_ba for r in current_records(store)][:n]
    for ma in ids:
        _set_state(store, ma, S.SUBMITTED)
    return ids


def test_receipts_are_written_in_batches_with_one_event_each(tmp_path: Path) -> None:
    import datetime as dt

    from hocbaso.store import receipt_writer

    store = Store(tmp_path / "hbs.duckdb")
    _load(store, _school(n=10))
    ids = _submitted(store, 10)
    now = dt.datetime.now(dt.UTC)
    with receipt_writer(store, flush_every=4, flush_after_s=3600) as receipts:
        for n, ma in enumerate(ids[:9]):
            receipts.accept(ma, f"MTC{n:04d}", now)
        receipts.reject(ids[9], "XSD", "Tệp XML không đúng lược đồ.")
        assert receipts.pending == 2  # 10 answers: two flushes of 4, two kept
    assert receipts.flushes == 3 and receipts.pending == 0
    by_id = {r.ma_hoc_ba: r for r in current_records(store)}
    assert all(by_id[ma].trang_thai is S.ACCEPTED for ma in ids[:9])
    assert by_id[ids[0]].ma_tra_cuu == "MTC0000" and by_id[ids[0]].ngay_nhan is not None
    refused = by_id[ids[9]]
    assert (refused.trang_thai, refused.ma_loi, refused.loi) == (
        S.REJECTED,
        "XSD",
        "Tệp XML không đúng lược đồ.",
    )
    actions = store.frame("SELECT hanh_dong FROM su_kien WHERE ma_hoc_ba IS NOT NULL")
    assert actions["hanh_dong"].value_counts().sort("hanh_dong").rows() == [
        ("csdl_tiep_nhan", 9),
        ("csdl_tu_choi", 1),
    ]
    with store.connect() as con:
        assert verify_chain(con).intact


def test_receipts_kept_before_an_error_are_still_written(tmp_path: Path) -> None:
    import datetime as dt

    from hocbaso.store import receipt_writer

    store = Store(tmp_path / "hbs.duckdb")
    _load(store, _school(n=5))
    ids = _submitted(store, 3)
    with pytest.raises(RuntimeError), receipt_writer(store, flush_every=100) as receipts:
        receipts.accept(ids[0], "MTC1", dt.datetime.now(dt.UTC))
        raise RuntimeError("the next answer could not be handled")
    done = record(store, ids[0])
    assert done is not None and done.trang_thai is S.ACCEPTED and done.ma_tra_cuu == "MTC1"
    # A record whose answer is not among them stays submitted: the rerun sends it again.
    waiting = record(store, ids[1])
    assert waiting is not None and waiting.trang_thai is S.SUBMITTED


def test_a_receipt_batch_with_a_wrong_state_record_writes_nothing(tmp_path: Path) -> None:
    import datetime as dt

    from hocbaso.store import receipt_writer

    store = Store(tmp_path / "hbs.duckdb")
    _load(store, _school(n=5))
    ids = _submitted(store, 2)
    draft = current_records(store, states=[S.DRAFT])[0].ma_hoc_ba
    with pytest.raises(TransitionError), receipt_writer(store, flush_every=100) as receipts:
        receipts.accept(ids[0], "MTC1", dt.datetime.now(dt.UTC))
        receipts.accept(draft, "MTC2", dt.datetime.now(dt.UTC))
    assert {r.trang_thai for r in current_records(store) if r.ma_hoc_ba in ids} == {S.SUBMITTED}


def test_a_rejected_record_goes_back_through_unlock_and_is_accepted_as_the_same_record(
    tmp_path: Path,
) -> None:
    import datetime as dt

    from hocbaso.states import SEAL, SIGN_HT, SUBMIT, UNLOCK
    from hocbaso.store import receipt_writer

    store = Store(tmp_path / "hbs.duckdb")
    _load(store, _school(n=5))
    ma = _submitted(store, 1)[0]
    with receipt_writer(store) as receipts:
        receipts.reject(ma, "SIGNATURE", "Chữ ký của GVCN không hợp lệ.")
    refused = record(store, ma)
    assert refused is not None and refused.trang_thai is S.REJECTED
    # Submitting again is not a way out: the refusal is final until the principal decides.
    with pytest.raises(TransitionError):
        transition(store, [RecordChange(ma)], SUBMIT)
    cleared = {"sha256_du_lieu": None, "sha256": None, "xml_path": None, "pdf_path": None}
    transition(store, [RecordChange(ma, cleared, {"ly_do": "ký lại"})], UNLOCK)
    draft = record(store, ma)
    assert draft is not None and draft.trang_thai is S.DRAFT
    assert draft.ma_loi == "SIGNATURE"  # the reason stays visible until it is accepted
    for step in (LOCK, SIGN_GVCN, SIGN_HT, SEAL, SUBMIT):
        transition(store, [RecordChange(ma)], step)
    with receipt_writer(store) as receipts:
        receipts.accept(ma, "MTC9", dt.datetime.now(dt.UTC))
    issued = record(store, ma)
    assert issued is not None
    assert (issued.trang_thai, issued.phien_ban, issued.ma_tra_cuu) == (S.ACCEPTED, 1, "MTC9")
    assert (issued.ma_loi, issued.loi) == (None, None)
    assert [r.ma_hoc_ba for r in current_records(store)].count(ma) == 1
