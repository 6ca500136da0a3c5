"""hocbaso: the domain core of a school's Học bạ số pipeline.

Plain Python, no Prefect imports: every step of the school's plan is a function
here that the Prefect tasks in ``tasks/`` wrap.
"""

from hocbaso.memory import configure_allocators

configure_allocators()  # before anything loads polars (see hocbaso.memory)

__version__ = "0.1.0"
