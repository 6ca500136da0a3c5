"""Signing computed in worker processes (``hocbaso.local_signing``).

A real tiny school with the demo PKI (its TSA/OCSP/CRL in their own process), the
teachers on the remote-signing stand-in, the principal's PKCS#12 key and the seal on
SoftHSM2, two spawned worker processes. What must hold: a class signed in chunks by
the workers is the class signed in the parent (every record journaled, the class
moved once, the files verify); a chunk that fails does not lose the chunks that were
signed, and the rerun signs only what is missing (nothing is signed twice); a remote
signature's documents prepared and finished by the workers verify.
"""

from __future__ import annotations

import pickle
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from hocbaso import issue, local_signing
from hocbaso.configure import configure
from hocbaso.demo import bundled
from hocbaso.demo.sample import generate_school, write_xlsx
from hocbaso.errors import GateError, RecordError, SigningError
from hocbaso.initialize import initialize
from hocbaso.issue import sign_class
from hocbaso.lock import lock_class
from hocbaso.resources import Resources, open_resources
from hocbaso.store import current_records
from hocbaso.store.journal import entries, signing_requests
from hocbaso.verification import verify_files

CLASS = "1A"


@pytest.fixture(scope="module")
def locked(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny school, configured, its class locked."""
    root = tmp_path_factory.mktemp("truong-ky-song-song")
    shutil.copyfile(str(bundled.school_toml_template()), root / "school.toml")
    source = write_xlsx(generate_school(n_students=40, seed=5), root / "nguon.xlsx")
    initialize(open_resources(root).ws, source, expectations=False)
    res = open_resources(root)
    configure(res)
    with res.credentials.services():
        lock_class(res, CLASS)
    res.close()
    return root


@pytest.fixture
def res(locked: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Resources]:
    root = tmp_path / "ws"
    shutil.copytree(locked, root)
    monkeypatch.setenv("HBS_WORKERS", "2")
    resources = open_resources(root)
    with resources.credentials.services():
        yield resources
    resources.close()


@pytest.fixture
def handed_out(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many chunks each class's signing handed to workers (a spy, not a stand-in)."""
    counts: list[int] = []
    real = issue.chunks_in_workers

    def spy(*args: object, **kwargs: object) -> object:
        chunks = real(*args, **kwargs)  # type: ignore[arg-type]
        counts.append(0 if chunks is None else len(chunks))
        return chunks

    monkeypatch.setattr(issue, "chunks_in_workers", spy)
    return counts


def _teacher_signs(res: Resources) -> None:
    assert sign_class(res, CLASS, "gvcn", wait_s=30).trang_thai == "da_ky"


def test_workers_prepare_and_finish_the_teachers_remote_signatures(
    res: Resources, monkeypatch: pytest.MonkeyPatch
) -> None:
    used: list[str] = []
    for name in ("prepare_in_workers", "finish_in_workers"):
        real = getattr(issue, name)

        def spy(*args: object, _real: object = real, _name: str = name) -> object:
            done = _real(*args)  # type: ignore[operator]
            used.append(_name if done is not None else "")
            return done

        monkeypatch.setattr(issue, name, spy)
    n = len(current_records(res.store, ma_lop=CLASS))
    with local_signing.signing_workers(res, "gvcn", [CLASS]):
        _teacher_signs(res)
    assert used and set(used) == {"prepare_in_workers", "finish_in_workers"}
    records = current_records(res.store, ma_lop=CLASS)
    assert len(records) == n and {r.trang_thai.value for r in records} == {"signed_gvcn"}
    sign_class(res, CLASS, "ht")  # then the others, in this process: the record verifies
    sign_class(res, CLASS, "condau")
    records = current_records(res.store, ma_lop=CLASS)
    (checked,) = verify_files(res.ws, res.trust, [res.ws.path(records[-1].files.pdf_path)])
    assert checked.passed, checked.summary()


def _journal(res: Resources, role: str) -> dict[str, str]:
    records = current_records(res.store, ma_lop=CLASS)
    keys = [(r.ma_hoc_ba, r.files.xml_sha256) for r in records]
    return {ma: e.trang_thai for ma, e in entries(res.store, role, keys).items()}


def test_workers_sign_the_class_in_chunks_as_the_parent_would(
    res: Resources, handed_out: list[int]
) -> None:
    _teacher_signs(res)
    n = len(current_records(res.store, ma_lop=CLASS))
    with local_signing.signing_workers(res, "ht", [CLASS]):
        assert sign_class(res, CLASS, "ht").processed == n
    with local_signing.signing_workers(res, "condau", [CLASS]):
        assert sign_class(res, CLASS, "condau").processed == n
    assert len(handed_out) == 2 and all(c >= 2 for c in handed_out)  # really in workers
    records = current_records(res.store, ma_lop=CLASS)
    assert {r.trang_thai.value for r in records} == {"sealed"}
    requests = signing_requests(res.store).filter(vai_tro="ht").to_dicts()
    requests += signing_requests(res.store).filter(vai_tro="condau").to_dicts()
    assert [(r["so_chu_ky"], r["trang_thai"]) for r in requests] == [(2 * n, "da_ky")] * 2
    (checked,) = verify_files(res.ws, res.trust, [res.ws.path(records[0].files.pdf_path)])
    assert checked.passed, checked.summary()


def test_a_failed_chunk_keeps_the_signed_ones_and_the_rerun_signs_only_the_rest(
    res: Resources, handed_out: list[int]
) -> None:
    _teacher_signs(res)
    n = len(current_records(res.store, ma_lop=CLASS))
    with local_signing.signing_workers(res, "ht", [CLASS]):
        sign_class(res, CLASS, "ht")
    records = current_records(res.store, ma_lop=CLASS)
    broken = records[-1]  # the last of its chunk: the records before it come back too
    path = res.ws.path(broken.files.xml_path)
    original = path.read_bytes()
    path.write_bytes(original.replace(b"<", b" <", 1))  # no longer the hash the store holds
    with local_signing.signing_workers(res, "condau", [CLASS]), pytest.raises(RecordError):
        sign_class(res, CLASS, "condau")
    journal = _journal(res, "condau")
    assert journal.get(broken.ma_hoc_ba) != "da_ky"
    assert sum(1 for state in journal.values() if state == "da_ky") == n - 1
    (failed,) = signing_requests(res.store).filter(vai_tro="condau").to_dicts()
    assert (failed["trang_thai"], failed["so_chu_ky"]) == ("loi", 2 * (n - 1))
    assert {r.trang_thai.value for r in current_records(res.store, ma_lop=CLASS)} == {"signed_ht"}

    path.write_bytes(original)
    with local_signing.signing_workers(res, "condau", [CLASS]):
        again = sign_class(res, CLASS, "condau")
    assert again.processed == 1  # only the record the failed chunk left
    assert {r.trang_thai.value for r in current_records(res.store, ma_lop=CLASS)} == {"sealed"}


def test_outside_a_step_the_parent_signs(res: Resources, handed_out: list[int]) -> None:
    _teacher_signs(res)
    n = len(current_records(res.store, ma_lop=CLASS))
    assert sign_class(res, CLASS, "ht").processed == n
    assert handed_out == [0]


def test_errors_cross_the_process_boundary_with_their_hint() -> None:
    error = pickle.loads(pickle.dumps(SigningError("TSA không trả lời.", hint="Chạy lại.")))
    assert (
        isinstance(error, SigningError)
        and error.user_message() == "TSA không trả lời.\n→ Chạy lại."
    )
    gate = pickle.loads(pickle.dumps(GateError("Lỗi dữ liệu.", reports=["r"], hint="Sửa tệp.")))
    assert gate.reports == ["r"] and gate.hint == "Sửa tệp."


def test_a_workers_error_reaches_the_parent_with_its_cause() -> None:
    """The parent's log must say why a worker could not open a key or token (the cause
    itself does not cross the process boundary)."""
    try:
        try:
            raise RuntimeError("CKR_TOKEN_NOT_PRESENT")
        except RuntimeError as cause:
            raise SigningError("Không mở được thiết bị ký 'x'.", hint="Cắm token.") from cause
    except SigningError as exc:
        error = pickle.loads(pickle.dumps(local_signing._with_cause(exc)))
    assert str(error) == "Không mở được thiết bị ký 'x'. (RuntimeError: CKR_TOKEN_NOT_PRESENT)"
    assert error.hint == "Cắm token."


def test_a_worker_that_cannot_open_the_token_leaves_its_records_to_the_parent(
    res: Resources, handed_out: list[int], caplog: pytest.LogCaptureFixture
) -> None:
    from hocbaso.demo.softhsm import demo_token

    _teacher_signs(res)
    sign_class(res, CLASS, "ht")
    res.channel_for("condau")  # the parent holds the token, as the step's send pass does
    pin_file = demo_token(res.ws.pki_dir).conf.parent / "pin.json"
    original = pin_file.read_text()
    pin_file.write_text(original.replace('"pin": "', '"pin": "9'))  # the workers' PIN is wrong
    try:
        with local_signing.signing_workers(res, "condau", [CLASS]):
            outcome = sign_class(res, CLASS, "condau")
    finally:
        pin_file.write_text(original)
    n = len(current_records(res.store, ma_lop=CLASS))
    assert outcome.processed == n and handed_out[-1] >= 2
    assert {r.trang_thai.value for r in current_records(res.store, ma_lop=CLASS)} == {"sealed"}
    assert "không mở được khoá ký" in caplog.text
