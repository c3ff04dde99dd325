"""The CPU that metrics add per answer, in-process and without noise from other work:
metrics' two receivers (answer started, answer ended) on a 200-token answer sent one
token per frame (the worst case for the relay-delay histogram).

    .venv/bin/python bench/metrics_cost.py

bench/load.py measures the whole server with metrics on and off (--server-env
METRICS_ENABLED=0); on a shared 2-core machine that difference drowns in noise, so this
gives the figure itself. Results: docs/metrics.md.
"""
import os
import sys
import time
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.test_settings")

import django  # noqa: E402

django.setup()

from chat.generation import Answer  # noqa: E402
from metrics import collectors  # noqa: E402

TOKENS = 200
RUNS = 5000


def answer() -> SimpleNamespace:
    start = time.perf_counter()
    times = [start + 0.1 + n * 0.04 for n in range(TOKENS)]
    return SimpleNamespace(status="complete", error_kind=None, token_times=times, started_at=start,
                           frame_log=[(t + 0.005, 1) for t in times])


def per_answer(work) -> float:
    began = time.process_time()
    for _ in range(RUNS):
        work()
    return (time.process_time() - began) / RUNS


def main() -> None:
    sample = answer()
    cost = per_answer(lambda: (collectors.on_answer_started(Answer, sample),
                               collectors.on_answer_ended(Answer, sample, message=None)))
    print(f"metrics, {TOKENS} tokens in {TOKENS} frames: {cost * 1e6:.1f} µs CPU per answer, "
          f"{cost * 1e3 * 1000 / TOKENS:.3f} ms CPU per 1,000 tokens")


if __name__ == "__main__":
    main()
