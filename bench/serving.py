"""Serving: `portal serve --workers 2` against a minimal Flask app, `gunicorn -w 2`.

On N demo tickets (a fifth open), wrk drives each server in turn with the same paths:
nearby (1 km, 100 results), the trivial answer (/api/v1/me: 401), the ticket page, a
1280 x 800 viewport at zoom 12. Each pair runs back to back (portal then reference,
then the other way round the next round); the best pair and the spread are printed,
with req/s, mean and p99 latency and the portal's ratio to the reference. The
reference is bench/reference_app.py on the same database. ``--profile`` then samples
the portal's workers with py-spy under the same load and prints where the time goes.

By default each kind cycles through 500 sampled paths, so answers repeat (as many
residents looking at the same streets do) and the portal's memo of answers helps.
``--fresh`` moves every nearby and viewport request to a new random point (up to
JITTER_METRES from a sampled one, in wrk's Lua): no answer repeats, nothing is
answered from memory, and the figures are those of the queries themselves.

    python -m bench.serving --tickets 1000000 --keep DIR [--db sqlite|postgresql|both]
        [--rounds 3] [--seconds 10] [--fresh] [--profile]
"""

import argparse
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
from collections import Counter

import httpx
from sqlalchemy import create_engine, text

from bench import common

KINDS = ("nearby", "trivial", "ticket", "viewport")
TARGETS = {"nearby": 1000, "trivial": 3000, "ticket": 500, "viewport": 800}
EXPECTED = {"nearby": 200, "trivial": 401, "ticket": 200, "viewport": 200}
P99_TARGET_MS = {"nearby": 50}
WINDOW = (1280, 800)  # pixels of the map at zoom 12
PATHS_PER_KIND = 500
JITTER_METRES = 500  # --fresh: how far from a sampled point a request may land
METRES_PER_DEGREE_LAT = 111_195.0
COS_LATITUDE = 0.766  # cos(40°): Philadelphia's latitude
HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def window_bbox(lat: float, lon: float, zoom: int) -> str:
    """The degrees a WINDOW-sized Web Mercator map spans around a point."""
    per_pixel = 360.0 / (256 * (1 << zoom))
    half_w = WINDOW[0] * per_pixel / 2
    half_h = WINDOW[1] * per_pixel * COS_LATITUDE / 2
    return (
        f"{lon - half_w:.6f},{lat - half_h:.6f},{lon + half_w:.6f},{lat + half_h:.6f}"
    )


def sample_paths(url: str, count: int) -> tuple[dict[str, list[str]], dict]:
    """The same random paths for both servers: open tickets' points, any ticket;
    and the points of the nearby and viewport paths (for ``--fresh``)."""
    engine = create_engine(url)
    with engine.connect() as connection:
        points = connection.execute(
            text(
                "SELECT lat, lon FROM tickets WHERE status = 'open' AND id % 97 = 0 "
                "LIMIT 5000"
            )
        ).all()
    engine.dispose()
    rng = random.Random(14)
    near = [rng.choice(points) for _ in range(PATHS_PER_KIND)]
    views = [rng.choice(points) for _ in range(PATHS_PER_KIND)]
    paths = {
        "nearby": [
            f"/api/v1/tickets?near={lat},{lon}&radius=1000&limit=100"
            for lat, lon in near
        ],
        "trivial": ["/api/v1/me"],
        "ticket": [f"/tickets/{rng.randint(1, count)}" for _ in range(PATHS_PER_KIND)],
        "viewport": [
            f"/api/v1/tickets?bbox={window_bbox(lat, lon, 12)}&zoom=12"
            for lat, lon in views
        ],
    }
    return paths, {"nearby": near, "viewport": views}


def wrk_script(folder: str, kind: str, paths: list[str]) -> str:
    """A Lua script that makes wrk cycle through ``paths``."""
    script = os.path.join(folder, f"{kind}.lua")
    listed = ",\n".join(f'  "{path}"' for path in paths)
    with open(script, "w") as out:
        out.write(
            f"local paths = {{\n{listed}\n}}\nlocal i = 0\n"
            "request = function()\n  i = i % #paths + 1\n"
            '  return wrk.format("GET", paths[i])\nend\n'
        )
    return script


def fresh_script(folder: str, kind: str, points: list) -> str:
    """A Lua script that makes wrk ask about a new random point each time: a sampled
    point moved by up to JITTER_METRES north and east (seeded, so both servers get
    the same sequence)."""
    script = os.path.join(folder, f"{kind}-fresh.lua")
    listed = ",\n".join(f"  {{{lat}, {lon}}}" for lat, lon in points)
    dlat = JITTER_METRES / METRES_PER_DEGREE_LAT
    dlon = dlat / COS_LATITUDE
    if kind == "nearby":
        path = (
            'string.format("/api/v1/tickets?near=%.6f,%.6f&radius=1000&limit=100", '
            "lat, lon)"
        )
    else:
        per_pixel = 360.0 / (256 * (1 << 12))
        half_w = WINDOW[0] * per_pixel / 2
        half_h = WINDOW[1] * per_pixel * COS_LATITUDE / 2
        path = (
            'string.format("/api/v1/tickets?bbox=%.6f,%.6f,%.6f,%.6f&zoom=12", '
            f"lon - {half_w!r}, lat - {half_h!r}, lon + {half_w!r}, lat + {half_h!r})"
        )
    with open(script, "w") as out:
        out.write(
            f"local points = {{\n{listed}\n}}\nmath.randomseed(14)\n"
            "request = function()\n"
            "  local p = points[math.random(#points)]\n"
            f"  local lat = p[1] + (math.random() * 2 - 1) * {dlat!r}\n"
            f"  local lon = p[2] + (math.random() * 2 - 1) * {dlon!r}\n"
            f'  return wrk.format("GET", {path})\nend\n'
        )
    return script


UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _ms(value: str) -> float:
    """wrk's "1.23ms"; NaN (said) for anything else it prints, such as "-nanus"."""
    found = re.fullmatch(r"([\d.]+)(us|ms|s|m)", value)
    if found is None:
        print(f"    (wrk printed a latency of {value!r})")
        return float("nan")
    number, unit = found.groups()
    return float(number) * UNITS[unit]


def wrk(base: str, script: str, seconds: float, connections: int) -> dict:
    """One wrk run: req/s, mean and p99 latency (ms), non-2xx/3xx and socket errors."""
    duration = f"{max(1, round(seconds))}s"
    done = subprocess.run(
        ["wrk", "-t", "1", "-c", str(connections), "-d", duration, "--latency",
         "--timeout", "10s", "-s", script, base],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    out = done.stdout
    latency = re.search(r"Latency\s+(\S+)", out).group(1)
    p99 = re.search(r"99%\s+(\S+)", out).group(1)
    other = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), "
                       r"timeout (\d+)", out)  # fmt: skip
    return {
        "requests": int(re.search(r"(\d+) requests in", out).group(1)),
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "mean": _ms(latency),
        "p99": _ms(p99),
        "non2xx": int(other.group(1)) if other else 0,
        "errors": sum(int(n) for n in errors.groups()) if errors else 0,
    }


def check(base: str, kind: str, paths: list[str]) -> None:
    """Each kind answers what it should before it is timed (a fast 500 is no win)."""
    for path in paths[:5]:
        answer = httpx.get(base + path, timeout=30)
        if answer.status_code != EXPECTED[kind]:
            raise SystemExit(f"{base}{path}: {answer.status_code} {answer.text[:300]}")


def start_reference(database: str, log: str):
    port = common.free_port()
    env = {**os.environ, "BENCH_REFERENCE_DATABASE": database}
    argv = [sys.executable, "-m", "gunicorn", "-w", "2", "-b", f"127.0.0.1:{port}",
            "--chdir", HERE, "bench.reference_app:app"]  # fmt: skip
    process = common.start_process(argv, env, log)
    base = f"http://127.0.0.1:{port}"
    common.wait_answering(base + "/api/v1/me", process)
    return process, base


def fmt(result: dict) -> str:
    return (
        f"{result['rps']:6.0f} req/s mean {result['mean']:6.1f} ms "
        f"p99 {result['p99']:6.1f} ms cpu {result['cpu_ms']:4.2f} ms/req"
    )


def timed_wrk(server: tuple[str, int], script: str, args) -> dict:
    """wrk, and the CPU the server's workers spent per request meanwhile (a figure
    that other load on the machine changes far less than req/s)."""
    base, master = server
    workers = common.children(master)
    before = common.cpu_seconds(workers)
    result = wrk(base, script, args.seconds, args.connections)
    spent = common.cpu_seconds(workers) - before
    result["cpu_ms"] = spent * 1000 / max(1, result["requests"])
    return result


def measure(servers: dict, scripts: dict, args) -> dict[str, list[tuple]]:
    """Rounds of A/B pairs per kind; answers kind -> [(portal, reference), ...]."""
    for kind in KINDS:  # warm-up: caches, lazily built queries, the page cache
        for base in servers.values():
            wrk(base[0], scripts[kind], args.warmup, args.connections)
    pairs = {kind: [] for kind in KINDS}
    for number in range(args.rounds):
        load = os.getloadavg()[0]
        print(f"  round {number + 1} (load average {load:.1f})")
        order = ("portal", "reference") if number % 2 == 0 else ("reference", "portal")
        for kind in KINDS:
            got = {
                name: timed_wrk(servers[name], scripts[kind], args) for name in order
            }
            pairs[kind].append((got["portal"], got["reference"]))
            portal, reference = got["portal"], got["reference"]
            flags = ""
            if portal["errors"] or reference["errors"]:
                flags = f"  socket errors {portal['errors']}/{reference['errors']}"
            if kind != "trivial" and (portal["non2xx"] or reference["non2xx"]):
                flags += f"  non-2xx {portal['non2xx']}/{reference['non2xx']}"
            print(
                f"    {kind:<8} portal {fmt(portal)} | reference {fmt(reference)} | "
                f"{portal['rps'] / reference['rps']:.2f}x{flags}"
            )
    return pairs


def report(pairs: dict[str, list[tuple]]) -> None:
    print("  best pair (highest portal req/s) and the spread over the rounds:")
    for kind, runs in pairs.items():
        portal, reference = max(runs, key=lambda pair: pair[0]["rps"])
        ratio = portal["rps"] / reference["rps"]
        verdict = "meets" if portal["rps"] >= TARGETS[kind] else "SHORT of"
        if kind in P99_TARGET_MS and portal["p99"] >= P99_TARGET_MS[kind]:
            verdict += f" req/s target; p99 NOT under {P99_TARGET_MS[kind]} ms"
        print(
            f"    {kind:<8} portal {fmt(portal)} | reference {fmt(reference)} | "
            f"{ratio:.2f}x  ({verdict} {TARGETS[kind]:,} req/s)"
        )
        p_rps = [p["rps"] for p, _r in runs]
        r_rps = [r["rps"] for _p, r in runs]
        ratios = [p["rps"] / r["rps"] for p, r in runs]
        print(
            f"             spread: portal {min(p_rps):.0f}-{max(p_rps):.0f} req/s, "
            f"reference {min(r_rps):.0f}-{max(r_rps):.0f}, ratio "
            f"{min(ratios):.2f}-{max(ratios):.2f}; portal p99 "
            f"{min(p['p99'] for p, _r in runs):.1f}-"
            f"{max(p['p99'] for p, _r in runs):.1f} ms"
        )


def profile(portal, base: str, scripts: dict, kinds, args, folder: str) -> None:
    """py-spy on every portal worker while wrk drives one kind; the top functions."""
    spy = shutil.which("py-spy") or os.path.join(
        os.path.dirname(sys.executable), "py-spy"
    )
    for kind in kinds:
        outputs, spies = [], []
        for pid in common.children(portal.pid):
            output = os.path.join(folder, f"{kind}-{pid}.txt")
            outputs.append(output)
            spies.append(
                subprocess.Popen(
                    [
                        spy,
                        "record",
                        "--pid",
                        str(pid),
                        "--duration",
                        str(int(args.seconds)),
                        "--rate",
                        "250",
                        "--format",
                        "raw",
                        "--nonblocking",
                        "--output",
                        output,
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )  # fmt: skip
            )
        result = timed_wrk((base, portal.pid), scripts[kind], args)
        for process in spies:
            process.wait(timeout=60)
        print(f"  profile of {kind} ({fmt(result)} while sampled):")
        print_profile(outputs)


def _frame(frame: str) -> str:
    # "function (path/to/module.py:line)" -> "function (module.py)"
    match = re.match(r"(.*?) \((.*?):\d+\)", frame)
    if not match:
        return frame
    name, path = match.groups()
    parts = path.split("/site-packages/")[-1].split("/")
    return f"{name} ({'/'.join(parts[-2:])})"


def print_profile(outputs: list[str], top: int = 22) -> None:
    own, inclusive, total = Counter(), Counter(), 0
    for output in outputs:
        if not os.path.exists(output):
            continue
        with open(output) as stacks:
            for line in stacks:
                stack, _, count = line.rstrip().rpartition(" ")
                if not stack:
                    continue
                frames = [_frame(f) for f in stack.split(";")]
                samples = int(count)
                total += samples
                own[frames[-1]] += samples
                for frame in set(frames):
                    inclusive[frame] += samples
    if not total:
        print("    (no samples: is py-spy allowed to attach?)")
        return
    print(f"    {total} samples; inclusive (share of all samples):")
    for frame, samples in inclusive.most_common(top):
        print(f"      {samples * 100 / total:5.1f}%  {frame}")
    print("    self time:")
    for frame, samples in own.most_common(top // 2):
        print(f"      {samples * 100 / total:5.1f}%  {frame}")


def run(label: str, url: str, folder: str, args) -> None:
    mode = (
        f"fresh: every nearby and viewport request a new point (±{JITTER_METRES} m)"
        if args.fresh
        else f"repeating: {PATHS_PER_KIND} paths per kind, cycled"
    )
    print(f"== {label}: {args.tickets:,} tickets, wrk -c {args.connections}, "
          f"{args.seconds:.0f} s a run; {mode}")  # fmt: skip
    logs = tempfile.mkdtemp(prefix="bench-serving-logs-")
    paths, points = sample_paths(url, args.tickets)
    scripts = {kind: wrk_script(logs, kind, paths[kind]) for kind in KINDS}
    if args.fresh:
        for kind, sampled in points.items():
            scripts[kind] = fresh_script(logs, kind, sampled)
    redis, redis_url = common.start_redis(os.path.join(logs, "redis"))
    processes = [redis]
    try:
        env = common.portal_env(url, folder, REDIS_URL=redis_url)
        portal, portal_base = common.start_portal(
            env, 2, os.path.join(logs, "portal.log")
        )
        processes.append(portal)
        database = url.replace("+psycopg", "") if label == "postgresql" else url[10:]
        reference, reference_base = start_reference(
            database, os.path.join(logs, "reference.log")
        )
        processes.append(reference)
        servers = {
            "portal": (portal_base, portal.pid),
            "reference": (reference_base, reference.pid),
        }
        for kind in KINDS:
            for base, _pid in servers.values():
                check(base, kind, paths[kind])
        pairs = measure(servers, scripts, args)
        report(pairs)
        if args.profile:
            short = [
                kind
                for kind, runs in pairs.items()
                if max(p["rps"] for p, _r in runs) < TARGETS[kind]
                or max(p["rps"] for p, _r in runs)
                < 2.5 * max(r["rps"] for _p, r in runs)
            ]
            profile(portal, portal_base, scripts, short or KINDS, args, logs)
    finally:
        for process in reversed(processes):
            common.stop_process(process)
    print(f"  (server logs in {logs})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument(
        "--db", choices=("sqlite", "postgresql", "both"), default="both"
    )
    parser.add_argument(
        "--keep", help="folder keeping the SQLite database between runs"
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument(
        "--fresh",
        action="store_true",
        help="a new random point for every nearby and viewport request",
    )
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed: apt-get install wrk")
    common.raise_open_files()
    if args.db in ("sqlite", "both"):
        folder = args.keep or tempfile.mkdtemp(prefix="bench-serving-")
        url = common.ticket_database(args.tickets, None, folder)
        run("sqlite", url, folder, args)
    if args.db in ("postgresql", "both"):
        from tests import pg

        # A production-sized buffer cache for a million tickets and their indexes.
        server = pg.start(settings={"shared_buffers": "1GB"})
        try:
            folder = tempfile.mkdtemp(prefix="bench-serving-pg-")
            url = pg.create_database(server, "bench")
            common.ticket_database(args.tickets, url, folder)
            run("postgresql", url, folder, args)
        finally:
            server.stop()


if __name__ == "__main__":
    main()
