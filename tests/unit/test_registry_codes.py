"""The lookup code (mã tra cứu): alphabet, check character, typed input."""

from __future__ import annotations

import pytest

from hocbaso.registry.codes import (
    ALPHABET,
    CODE_LENGTH,
    InvalidMaTraCuu,
    check_character,
    format_ma_tra_cuu,
    is_valid_ma_tra_cuu,
    new_ma_tra_cuu,
    normalize_ma_tra_cuu,
)

CODE = "23456789" + check_character("23456789")


def test_alphabet_has_no_ambiguous_characters() -> None:
    assert not set("0O1IL") & set(ALPHABET)
    assert len(set(ALPHABET)) == len(ALPHABET) == 31


def test_new_codes_are_short_valid_and_distinct() -> None:
    codes = {new_ma_tra_cuu() for _ in range(2000)}
    assert len(codes) == 2000
    for code in codes:
        assert len(code) == CODE_LENGTH
        assert set(code) <= set(ALPHABET)
        assert is_valid_ma_tra_cuu(code)


def test_every_single_wrong_character_is_detected() -> None:
    for position in range(CODE_LENGTH):
        for replacement in ALPHABET:
            if replacement == CODE[position]:
                continue
            typo = CODE[:position] + replacement + CODE[position + 1 :]
            assert not is_valid_ma_tra_cuu(typo), typo


@pytest.mark.parametrize("distance", [1, 2], ids=["adjacent", "one-apart"])
def test_every_swap_of_two_near_characters_is_detected(distance: int) -> None:
    for _ in range(200):
        code = new_ma_tra_cuu()
        for i in range(CODE_LENGTH - distance):
            j = i + distance
            if code[i] == code[j]:
                continue
            swapped = list(code)
            swapped[i], swapped[j] = swapped[j], swapped[i]
            assert not is_valid_ma_tra_cuu("".join(swapped))


@pytest.mark.parametrize(
    "typed",
    [CODE.lower(), f"{CODE[:3]}-{CODE[3:6]}-{CODE[6:]}", f" {CODE[:4]} {CODE[4:]} "],
    ids=["lower-case", "printed-form", "spaces"],
)
def test_typed_forms_are_accepted(typed: str) -> None:
    assert normalize_ma_tra_cuu(typed) == CODE


def test_printed_form_groups_by_three() -> None:
    assert format_ma_tra_cuu(CODE) == f"{CODE[:3]}-{CODE[3:6]}-{CODE[6:]}"


@pytest.mark.parametrize(
    ("typed", "fragment"),
    [
        (CODE[:-1], "9 ký tự"),
        (CODE + "2", "9 ký tự"),
        ("0" + CODE[1:], "không dùng"),
        (CODE[:4] + "I" + CODE[5:], "không dùng"),
        (CODE[:-1] + ALPHABET[(ALPHABET.index(CODE[-1]) + 1) % 31], "ký tự kiểm tra"),
    ],
    ids=["too-short", "too-long", "zero", "letter-i", "wrong-check"],
)
def test_bad_codes_say_what_is_wrong(typed: str, fragment: str) -> None:
    with pytest.raises(InvalidMaTraCuu) as info:
        normalize_ma_tra_cuu(typed)
    assert fragment in info.value.message
    assert info.value.hint
