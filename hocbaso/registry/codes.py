"""The lookup code (mã tra cứu) printed on the paper copy next to its QR code.

A person reads it aloud or types it from paper into the lookup portal, so the
alphabet leaves out the characters people confuse (0/O, 1/I/L): 8 digits and 23
letters, 31 symbols. 31 is prime, which is what makes the check character
strong: with position weights 1..9 and a prime modulus, every single wrong
character and every swap of two characters up to two places apart changes the
weighted sum, so the code no longer checks. (A Luhn-style or modulo-10 check
would miss some of these.)

The canonical form is 9 symbols without separators (8 random + 1 check); the
printed form groups them ``ABC-DEF-GHK`` for reading. Input is forgiving about
case, spaces and hyphens, and strict about everything else.
"""

from __future__ import annotations

import secrets

from hocbaso.errors import RegistryError

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
MODULUS = len(ALPHABET)  # 31, prime
DATA_LENGTH = 8
CODE_LENGTH = DATA_LENGTH + 1
_VALUE = {ch: i for i, ch in enumerate(ALPHABET)}
_CHECK_WEIGHT_INVERSE = pow(CODE_LENGTH, -1, MODULUS)

assert MODULUS == 31, "the check relies on a prime alphabet size"


class InvalidMaTraCuu(RegistryError):
    """A lookup code is malformed or its check character does not match."""


def _weighted_sum(symbols: str) -> int:
    return sum((position + 1) * _VALUE[ch] for position, ch in enumerate(symbols))


def check_character(data: str) -> str:
    """The check character for ``data`` (8 symbols of the alphabet).

    Chosen so that the weighted sum of all 9 symbols (weights 1..9) is 0 mod 31.
    """
    if len(data) != DATA_LENGTH or any(ch not in _VALUE for ch in data):
        raise ValueError("data must be 8 symbols of the lookup-code alphabet")
    value = (-_weighted_sum(data) * _CHECK_WEIGHT_INVERSE) % MODULUS
    return ALPHABET[value]


def new_ma_tra_cuu() -> str:
    """A fresh random code in canonical form (uniqueness is the registry's job)."""
    data = "".join(secrets.choice(ALPHABET) for _ in range(DATA_LENGTH))
    return data + check_character(data)


def is_valid_ma_tra_cuu(code: str) -> bool:
    """Whether ``code`` (canonical or typed with spaces/hyphens/lower case) checks."""
    try:
        normalize_ma_tra_cuu(code)
    except InvalidMaTraCuu:
        return False
    return True


def normalize_ma_tra_cuu(code: str) -> str:
    """The canonical form of a typed code, or ``InvalidMaTraCuu`` saying what is wrong."""
    symbols = "".join(code.split()).replace("-", "").upper()
    if len(symbols) != CODE_LENGTH:
        raise InvalidMaTraCuu(
            f"Mã tra cứu phải có {CODE_LENGTH} ký tự (không kể dấu gạch), "
            f"mã đã nhập có {len(symbols)} ký tự.",
            hint="Kiểm tra lại mã in trên bản giấy hoặc quét mã QR.",
        )
    wrong = sorted({ch for ch in symbols if ch not in _VALUE})
    if wrong:
        raise InvalidMaTraCuu(
            f"Mã tra cứu có ký tự không dùng trong mã: {', '.join(wrong)}.",
            hint="Mã tra cứu không dùng các ký tự 0, O, 1, I, L; kiểm tra lại mã in trên bản giấy.",
        )
    if _weighted_sum(symbols) % MODULUS != 0:
        raise InvalidMaTraCuu(
            "Mã tra cứu không đúng: ký tự kiểm tra không khớp (có thể gõ nhầm một ký tự).",
            hint="Đối chiếu từng ký tự với mã in trên bản giấy hoặc quét mã QR.",
        )
    return symbols


def format_ma_tra_cuu(code: str) -> str:
    """The printed form, ``ABC-DEF-GHK``, of a canonical or typed code."""
    symbols = normalize_ma_tra_cuu(code)
    return "-".join(symbols[i : i + 3] for i in range(0, CODE_LENGTH, 3))
