"""Per-request overhead: CPU microseconds per request for the smallest answers.

What every request pays before and after its view (security headers, the CSP nonce,
limits, sessions, the user loader, logging, the server itself) shows best on answers
whose view does almost nothing: ``/api/v1/me`` without a token (401), ``/healthz``
and the sign-in page. CPU per request, not req/s, is the figure: the machine is
shared, and other load changes req/s far more than the CPU one request costs.

``served`` (the default) runs `portal serve --workers 1` and drives it with wrk,
reading the worker's CPU time from /proc before and after; ``inprocess`` times
``app.test_client()`` (no server, no sockets: the app's own share). ``--profile``
samples the served worker with py-spy, or cProfiles the in-process client.

    python -m bench.request_overhead [--mode served|inprocess|both] [--seconds 8]
        [--rounds 3] [--profile] [--keep DIR]

Issue 14 (2 shared cores), µs CPU per request served, 401 / healthz / sign-in page:
568 / 1114 / 1599 before, 350-380 / 850-900 / 1380-1400 after (in process: 443 /
858 / 1339 before, 253 / 624 / 1153 after). A bare Flask 401 under the same gunicorn
gevent worker costs ~150-190 µs.
"""

import argparse
import cProfile
import io
import os
import pstats
import shutil
import subprocess
import sys
import tempfile
import time

from bench import common
from bench.serving import print_profile, wrk, wrk_script

PATHS = {"me (401)": "/api/v1/me", "healthz": "/healthz", "page": "/auth/login"}
EXPECTED = {"me (401)": 401, "healthz": 200, "page": 200}
SLUGS = {"me (401)": "me", "healthz": "healthz", "page": "page"}


def served(folder: str, args) -> None:
    """wrk against one worker; the worker's CPU per request, best of the rounds."""
    url = common.ticket_database(100, None, folder, grown=True)
    logs = tempfile.mkdtemp(prefix="bench-overhead-logs-")
    env = common.portal_env(url, folder)
    portal, base = common.start_portal(env, 1, os.path.join(logs, "portal.log"))
    try:
        import httpx

        for name, path in PATHS.items():
            status = httpx.get(base + path, timeout=30).status_code
            if status != EXPECTED[name]:
                raise SystemExit(f"{path}: {status}, expected {EXPECTED[name]}")
        (worker,) = common.children(portal.pid)
        scripts = {
            name: wrk_script(logs, SLUGS[name], [p]) for name, p in PATHS.items()
        }
        for script in scripts.values():  # warm-up: lazily built parts, caches
            wrk(base, script, 2, args.connections)
        best: dict[str, tuple[float, float]] = {}
        for number in range(args.rounds):
            print(f"  round {number + 1} (load average {os.getloadavg()[0]:.1f})")
            for name, script in scripts.items():
                before = common.cpu_seconds([worker])
                result = wrk(base, script, args.seconds, args.connections)
                spent = common.cpu_seconds([worker]) - before
                micros = spent * 1e6 / max(1, result["requests"])
                print(f"    {name:10} {micros:6.0f} µs CPU/request  "
                      f"{result['rps']:6.0f} req/s")  # fmt: skip
                if name not in best or micros < best[name][0]:
                    best[name] = (micros, result["rps"])
        print("  best of the rounds (served, one worker):")
        for name, (micros, rps) in best.items():
            print(f"    {name:10} {micros:6.0f} µs CPU/request  {rps:6.0f} req/s")
        if args.profile:
            for name, script in scripts.items():
                spy(worker, base, script, name, logs, args)
    finally:
        common.stop_process(portal)
    print(f"  (server log in {logs})")


def spy(worker: int, base: str, script: str, name: str, logs: str, args) -> None:
    py_spy = shutil.which("py-spy") or os.path.join(
        os.path.dirname(sys.executable), "py-spy"
    )
    output = os.path.join(logs, f"spy-{SLUGS[name]}.txt")
    sampler = subprocess.Popen(
        [py_spy, "record", "--pid", str(worker), "--duration", str(int(args.seconds)),
         "--rate", "250", "--format", "raw", "--nonblocking", "--output", output],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    wrk(base, script, args.seconds, args.connections)
    sampler.wait(timeout=60)
    # A frame's name may hold a line break: keep only whole "stack count" lines.
    with open(output, errors="replace") as raw:
        lines = [line for line in raw if line.rstrip().rpartition(" ")[2].isdigit()]
    with open(output, "w") as clean:
        clean.writelines(lines)
    print(f"  profile of {name}:")
    print_profile([output])


def inprocess(folder: str, args) -> None:
    """The app alone, through the test client: CPU µs per request (median of runs)."""
    from portal import create_app

    url = common.ticket_database(100, None, folder, grown=True)
    app = create_app({"SECRET_KEY": common.SECRET, "SQLALCHEMY_DATABASE_URI": url})
    app.instance_path = folder
    client = app.test_client()
    for name, path in PATHS.items():
        for _ in range(200):  # warm-up
            answer = client.get(path)
        if answer.status_code != EXPECTED[name]:
            raise SystemExit(f"{path}: {answer.status_code}")
        runs = []
        for _ in range(args.rounds):
            started = time.process_time()
            for _ in range(args.requests):
                client.get(path)
            runs.append((time.process_time() - started) * 1e6 / args.requests)
        runs.sort()
        print(f"    {name:10} {runs[len(runs) // 2]:6.0f} µs CPU/request "
              f"(in process; runs {runs[0]:.0f}-{runs[-1]:.0f})")  # fmt: skip
        if args.profile:
            profiler = cProfile.Profile()
            profiler.enable()
            for _ in range(args.requests):
                client.get(path)
            profiler.disable()
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(40)
            print(out.getvalue())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=("served", "inprocess", "both"),
                        default="served")  # fmt: skip
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--requests", type=int, default=2000, help="in process")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--keep", help="folder keeping the database between runs")
    args = parser.parse_args()
    folder = args.keep or tempfile.mkdtemp(prefix="bench-overhead-")
    if args.mode in ("inprocess", "both"):
        print("== in process (app.test_client())")
        inprocess(folder, args)
    if args.mode in ("served", "both"):
        if not shutil.which("wrk"):
            raise SystemExit("wrk is needed: apt-get install wrk")
        print(f"== served: portal serve --workers 1, wrk -c {args.connections}")
        served(folder, args)


if __name__ == "__main__":
    main()
