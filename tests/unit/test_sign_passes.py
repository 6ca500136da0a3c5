"""The two passes of a remote signing step make one outcome per class."""

from __future__ import annotations

from hocbaso.issue import SignOutcome, merge_outcomes


def test_a_class_signed_in_the_collect_pass_counts_both_passes() -> None:
    sent = SignOutcome("gvcn", "1A", 0, 1.5, trang_thai="cho_xac_nhan", so_yeu_cau=2, con_lai=35)
    collected = SignOutcome("gvcn", "1A", 35, 0.5, skipped=0, so_yeu_cau=0, con_lai=0)
    merged = merge_outcomes(sent, collected)
    assert (merged.processed, merged.so_yeu_cau, merged.con_lai, merged.trang_thai) == (
        35,
        2,
        0,
        "da_ky",
    )
    assert merged.seconds == 2.0


def test_a_class_the_send_pass_finished_keeps_that_outcome() -> None:
    sent = SignOutcome("gvcn", "1A", 35, 1.0, so_yeu_cau=2, con_lai=0)
    collected = SignOutcome("gvcn", "1A", 0, 0.0)
    assert merge_outcomes(sent, collected) is sent


def test_a_class_still_waiting_says_so_and_keeps_the_notes() -> None:
    sent = SignOutcome(
        "gvcn", "1A", 0, 1.0, trang_thai="cho_xac_nhan", so_yeu_cau=1, con_lai=35,
        thong_bao=("gửi lại",),
    )  # fmt: skip
    collected = SignOutcome("gvcn", "1A", 10, 3.0, trang_thai="cho_xac_nhan", con_lai=25)
    merged = merge_outcomes(sent, collected)
    assert (merged.processed, merged.con_lai, merged.trang_thai, merged.thong_bao) == (
        10,
        25,
        "cho_xac_nhan",
        ("gửi lại",),
    )
    assert merge_outcomes(None, collected) is collected
