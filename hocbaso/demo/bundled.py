"""The sample school's files that ship inside the package (``hocbaso/demo/data/``).

Found through ``importlib.resources`` rather than a path relative to a source
checkout, so that a wheel installed anywhere can run `hbs demo` and hand schools the
templates. Each function returns a ``Traversable``; where a caller needs a real
file (a flow parameter, a spreadsheet reader), it wraps the call in
``importlib.resources.as_file``, which costs nothing for an ordinary installation
(the package is a folder on disk) and extracts a temporary copy otherwise.

``data/generate.py`` in the repository regenerates these files.
"""

from __future__ import annotations

from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path

from hocbaso.config import CONFIG_FILE


def bundled_data() -> Traversable:
    """The folder of bundled files."""
    return files("hocbaso.demo").joinpath("data")


def sample_school_xlsx() -> Traversable:
    """The sample school (about 1,000 students) in the canonical import format."""
    return bundled_data().joinpath("sample.xlsx")


def sample_summary_xlsx() -> Traversable:
    """The same school as TT27 class summary sheets (one sheet per class)."""
    return bundled_data().joinpath("sample-bang-tong-hop.xlsx")


def school_toml_template() -> Traversable:
    """The sample school's configuration, commented in Vietnamese: what a school edits."""
    return bundled_data().joinpath(CONFIG_FILE)


def summary_template_xlsx() -> Traversable:
    """The blank class summary sheet workbook (one sheet per grade, headers only)."""
    return bundled_data().joinpath("templates", "bang-tong-hop-mau.xlsx")


def write_school_toml(workspace: Path) -> Path:
    """Put the sample configuration into ``workspace`` unless it already has one; a
    school's own edits are never overwritten."""
    target = workspace / CONFIG_FILE
    if not target.exists():
        workspace.mkdir(parents=True, exist_ok=True)
        target.write_bytes(school_toml_template().read_bytes())
    return target
