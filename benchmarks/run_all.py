"""Run every benchmark script and write their sections into docs/BENCHMARKS.md.

Each ``benchmarks/bench_*.py`` prints one markdown section on stdout. This
runner stamps each section with the machine and the date, keeps it in
``docs/benchmarks/<script>.md`` and assembles them all into
``docs/BENCHMARKS.md``, so that every number can be traced to where and when
it was measured, and re-running one benchmark leaves the others as they were.
Run it on a quiet machine:

    python benchmarks/run_all.py                 # all benchmarks
    python benchmarks/run_all.py inference db    # only bench_inference.py, bench_db.py
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUTPUT = ROOT / "docs" / "BENCHMARKS.md"
SECTIONS = ROOT / "docs" / "benchmarks"

sys.path.insert(0, str(ROOT))
from starcnet_core.nn.backends import cpu_instruction_sets, cpu_model  # noqa: E402

_INSTRUCTION_SET_NAMES = {"avx2": "AVX2", "avx512": "AVX-512", "avx512_bf16": "bf16", "vnni": "VNNI", "amx": "AMX"}


def instruction_sets() -> str:
    """The CPU's instruction sets that decide torch's speed, named as every benchmark section names them."""
    present = cpu_instruction_sets()
    return ", ".join(name for key, name in _INSTRUCTION_SET_NAMES.items() if present[key]) or (
        "none of " + "/".join(_INSTRUCTION_SET_NAMES.values())
    )


def cpu_line() -> str:
    """CPU model, cores and instruction sets, in one line."""
    return f"{cpu_model()}, {os.cpu_count()} cores ({instruction_sets()})"


def machine_description() -> str:
    cpu = f"{cpu_model()} ({instruction_sets()})"
    memory = ""
    try:
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f", {kib / 2**20:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    import torch

    return (
        f"{cpu}, {os.cpu_count()} cores{memory}; Python {platform.python_version()}, "
        f"torch {torch.__version__}, {platform.system()} {platform.release()}"
    )


def run_benchmark(script: Path) -> str:
    print(f"running {script.name} ...", file=sys.stderr, flush=True)
    done = subprocess.run(
        [sys.executable, str(script)], cwd=ROOT, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        tail = "\n".join(done.stderr.strip().splitlines()[-15:])
        return f"## {script.stem}\n\nFAILED (exit {done.returncode}):\n\n```\n{tail}\n```\n"
    return done.stdout.strip() + "\n"


def main(names: list[str]) -> int:
    scripts = sorted((ROOT / "benchmarks").glob("bench_*.py"))
    if names:
        scripts = [s for s in scripts if s.stem.removeprefix("bench_") in names]
    SECTIONS.mkdir(parents=True, exist_ok=True)
    stamp = f"*Measured {dt.date.today().isoformat()} on {machine_description()}.*\n"
    for script in scripts:
        body = run_benchmark(script)
        title, _, rest = body.partition("\n")
        # Two cores are easily shared: a number means little without the load it was measured under.
        load = f"*1-min load average when it finished: {os.getloadavg()[0]:.1f} (2 means both cores busy).*\n"
        (SECTIONS / f"{script.stem}.md").write_text(f"{title}\n\n{stamp}{load}{rest}")
    header = (
        "# Benchmarks\n\n"
        "Each section comes from the `benchmarks/` script of the same name and says where and "
        "when it was measured. Regenerate with `python benchmarks/run_all.py [name ...]`.\n"
    )
    sections = [path.read_text() for path in sorted(SECTIONS.glob("bench_*.md"))]
    OUTPUT.write_text(header + "\n" + "\n".join(sections))
    print(f"wrote {OUTPUT}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
