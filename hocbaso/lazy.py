"""Lazy package namespaces: a name is imported from its module when first asked for.

Why: a package's ``__init__`` that imports every submodule makes each command pay
for all of them (pyHanko, pandera, pandas: seconds), while a verb needs a few.
``lazy_exports`` gives a package the module-level ``__getattr__`` and ``__dir__``
of PEP 562; the package keeps its public names (and, under ``TYPE_CHECKING``, the
plain imports that type checkers read).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(
    package: str, exports: Mapping[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for ``package`` whose ``exports`` map each public
    name to the submodule (relative to the package) that defines it."""

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{module}"), name)
        globals_of_package = importlib.import_module(package).__dict__
        globals_of_package[name] = value  # next time without __getattr__
        return value

    def __dir__() -> list[str]:
        return sorted(exports)

    return __getattr__, __dir__
