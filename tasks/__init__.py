"""Prefect tasks: a few lines each over ``hocbaso`` (retries, artifacts, logs).

A task takes the workspace folder and a class code (small, serialisable
parameters) and does one batch. Tasks are not cached: the store's record states
make every task idempotent, so a rerun continues where the last one stopped.
"""
