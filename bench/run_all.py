"""Run every benchmark in turn: `make bench` (or `.venv/bin/python bench/run_all.py`).

Each benchmark prints its own medians and its ratio to a floor measured in the same
run. ``bench_plan.py`` runs the whole plan on the 1,000-student sample school (per
step, per record, beside its floors); ``bench_district.py`` runs four small schools
on a process work pool with one worker, then two. The submit benchmark needs a
workspace with sealed records; this script makes one with `hbs demo` in a
temporary folder (about five minutes) unless `--workspace DIR` names an existing
one.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

BENCH = Path(__file__).resolve().parent
HBS = Path(sys.executable).with_name("hbs")


def run(*args: str) -> None:
    print(f"\n=== {' '.join(args)}", flush=True)
    subprocess.run([sys.executable, *args], check=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workspace", type=Path, help="a demo workspace with sealed records")
    args = parser.parse_args()
    run(str(BENCH / "bench_import.py"))
    run(str(BENCH / "bench_render.py"))
    run(str(BENCH / "bench_signing.py"))
    run(str(BENCH / "bench_registry.py"))
    run(str(BENCH / "bench_plan.py"))
    run(str(BENCH / "bench_district.py"))
    with tempfile.TemporaryDirectory(prefix="hbs-bench-") as tmp:
        workspace = args.workspace
        if workspace is None:
            workspace = Path(tmp) / "ws"
            print("\n=== hbs demo (a workspace for the submit benchmark)", flush=True)
            subprocess.run(
                [str(HBS), "demo", "--workspace", str(workspace)],
                check=True,
                stdout=subprocess.DEVNULL,
            )
        try:
            run(str(BENCH / "bench_submit.py"), "--workspace", str(workspace))
        finally:
            if args.workspace is None:
                subprocess.run(
                    [str(HBS), "server", "stop", "--workspace", str(workspace)], check=False
                )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
