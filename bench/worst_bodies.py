"""python -m bench.worst_bodies: how long the sanitizer takes on the worst post bodies
at the 20,000-character cap (the target: each well under a second)."""

import statistics
import time

from portal.forums.services import POST_MAX
from portal.sanitize import render_markdown

WORST = {
    "anchors": "<a>" * (POST_MAX // 3),
    "angles": "<" * POST_MAX,
    "brackets": "[" * (POST_MAX // 2) + "]" * (POST_MAX // 2),
    "nested": "<b><i>" * (POST_MAX // 6),
    "quotes": "> " * (POST_MAX // 2),
}


def main(runs: int = 5) -> None:
    print(f"{'body':<10} {'median s':>9} {'max s':>7}  ({runs} runs, {POST_MAX} chars)")
    for name, body in WORST.items():
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            render_markdown(body)
            times.append(time.perf_counter() - started)
        print(f"{name:<10} {statistics.median(times):>9.3f} {max(times):>7.3f}")


if __name__ == "__main__":
    main()
