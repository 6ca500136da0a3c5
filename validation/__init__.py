"""The data gates of a school's file (pandera, Great Expectations, rules)."""

import hocbaso  # noqa: F401  (sets the allocators' environment before polars loads)
