"""Prefect flows: one per step of the school's plan, plus the whole plan and deadline runs."""
