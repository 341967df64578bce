"""The city hangs while residents browse: p95 per page kind and the errors.

PORTAL_CITY_URL points at a loopback server that accepts connections and never
answers. The portal runs as deployed (``serve``: `portal serve --workers 2` over
Redis beside `portal city worker`) or as `portal run` (``run``: one process, the
worker's duties inside the web process). Residents, each with an API token of their
own, loop for ``--seconds``: the map page, its viewport, nearby, a ticket page, and
now and then a report filed through the JSON API, pausing as a person does between
pages (``--think``, 1 to 5 s). No request may wait on the city: its answers are what
is timed. ``--city answering``
runs the same storm with the built-in sandbox answering (a control); the web
workers' CPU per request says whether the time went to work or to waiting.

    python -m bench.storm [--residents 200] [--seconds 60] [--layout serve|run|both]
        [--city hang|answering|both] [--tickets 100000] [--keep DIR] [--profile DIR]
"""

import argparse
import asyncio
import os
import random
import resource
import socket
import statistics
import subprocess
import tempfile
import threading
import time
from collections import defaultdict

import httpx
from sqlalchemy import create_engine, select, text

from bench import common
from bench.serving import print_profile, window_bbox
from portal import create_app
from portal.auth.models import User
from portal.auth.services import create_token, register_user
from portal.extensions import db

KINDS = ("map page", "viewport", "nearby", "ticket page", "filing")
EXPECTED = {"filing": 202}
CODES = ("SBX-DV", "SBX-DA")  # services without questions


class HangingCity:
    """Accepts every connection and never answers (nor reads, nor closes)."""

    def __init__(self):
        self.listener = socket.create_server(("127.0.0.1", 0), backlog=1024)
        self.port = self.listener.getsockname()[1]
        self.held: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                connection, _address = self.listener.accept()
            except OSError:
                return
            self.held.append(connection)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/open311/v2/"

    def close(self):
        self.listener.close()
        for connection in self.held:
            connection.close()


def prepare(args, folder: str) -> tuple[str, list[str], list, int]:
    """Database, the city's services (fetched from the sandbox before it hangs), a
    token per resident; answers (url, tokens, open points, ticket count)."""
    url = common.ticket_database(args.tickets, None, folder, grown=True)
    env = common.portal_env(url, folder)
    subprocess.run([common.PORTAL, "city", "services"], env=env, check=True,
                   capture_output=True)  # fmt: skip
    app = create_app({"SECRET_KEY": common.SECRET, "SQLALCHEMY_DATABASE_URI": url})
    app.instance_path = folder
    tokens = []
    with app.app_context():
        from portal.areas.services import list_areas

        home = list_areas()[0]
        for number in range(args.residents):
            email = f"storm{number}@example.org"
            user = db.session.scalar(select(User).where(User.email == email))
            if user is None:
                user = register_user(f"Resident {number}", email, "storm-pass", home)
            tokens.append(create_token(user, "storm")[1])
        db.session.remove()
        db.engine.dispose()
    engine = create_engine(url)
    with engine.connect() as connection:
        points = connection.execute(
            text("SELECT lat, lon FROM tickets WHERE status = 'open' LIMIT 3000")
        ).all()
    engine.dispose()
    return url, tokens, points, args.tickets


async def resident(base, token, points, count, until, rng, samples, errors, args):
    headers = {"Authorization": f"Bearer {token}"}
    timeout = httpx.Timeout(args.timeout)
    async with httpx.AsyncClient(
        base_url=base, headers=headers, timeout=timeout
    ) as web:

        async def visit(kind, method, path, **options):
            into = args.seconds - (until - time.monotonic())
            started = time.perf_counter()
            try:
                answer = await web.request(method, path, **options)
                status = answer.status_code
            except httpx.HTTPError as error:
                answer, status = None, type(error).__name__
            # (seconds into the storm when it was asked, seconds it took)
            samples[kind].append((into, time.perf_counter() - started))
            if status != EXPECTED.get(kind, 200):
                errors[kind].append((str(status), answer.text[:160] if answer else ""))
                return None
            return answer

        await asyncio.sleep(rng.uniform(0, 5))  # residents arrive over a few seconds
        while time.monotonic() < until:
            lat, lon = rng.choice(points)
            steps = [
                ("map page", "GET", "/map", {}),
                ("viewport", "GET", "/api/v1/tickets",
                 {"params": {"bbox": window_bbox(lat, lon, 15), "zoom": 15}}),
                ("nearby", "GET", "/api/v1/tickets",
                 {"params": {"near": f"{lat},{lon}", "radius": 500, "limit": 50}}),
                ("ticket page", "GET", f"/tickets/{rng.randint(1, count)}", {}),
            ]  # fmt: skip
            if rng.random() < args.file_share:
                body = {
                    "service_code": rng.choice(CODES),
                    "lat": lat,  # an open ticket's point: inside a neighborhood
                    "lon": lon,
                    "description": "Storm bench: filed while the city hangs.",
                    "not_duplicate": True,
                }
                steps.append(("filing", "POST", "/api/v1/tickets", {"json": body}))
            for kind, method, path, options in steps:
                if time.monotonic() >= until:
                    break
                await visit(kind, method, path, **options)
                await asyncio.sleep(rng.uniform(*args.think))  # a person reading


async def storm(base, tokens, points, count, args):
    samples, errors = defaultdict(list), defaultdict(list)
    until = time.monotonic() + args.seconds
    rng = random.Random(60)
    await asyncio.gather(
        *(
            resident(base, token, points, count, until,
                     random.Random(rng.random()), samples, errors, args)
            for token in tokens
        )
    )  # fmt: skip
    return samples, errors


def start_layout(layout, env, folder):
    """The web side: its base URL, its server process, and every process started."""
    processes = []
    if layout == "serve":
        redis, redis_url = common.start_redis(os.path.join(folder, "redis"))
        processes.append(redis)
        env = {**env, "PORTAL_REDIS_URL": redis_url}
        web, base = common.start_portal(env, 2, os.path.join(folder, "serve.log"))
        processes.append(web)
        worker = common.start_process(
            [common.PORTAL, "city", "worker"], env, os.path.join(folder, "worker.log")
        )
        processes.append(worker)
    else:
        port = common.free_port()
        web = common.start_process(
            [common.PORTAL, "run", "--no-demo", "--port", str(port)], env,
            os.path.join(folder, "run.log"),
        )  # fmt: skip
        processes.append(web)
        base = f"http://127.0.0.1:{port}"
        common.wait_answering(base + "/healthz", web)
    return base, web, processes


def report(layout, samples, errors, city, states, cpu_s, args) -> None:
    if city:
        held = (
            f"the city hanging (holding {len(city.held)} of the portal's connections)"
        )
    else:
        held = "the built-in sandbox city answering (control run)"
    answered = max(1, sum(len(times) for times in samples.values()))
    residents_s, web_s = cpu_s
    print(f"== {layout}: {args.residents} residents for {args.seconds:.0f} s, {held}")
    print(f"  {answered / args.seconds:.0f} req/s; CPU per request: web workers "
          f"{web_s * 1000 / answered:.1f} ms ({web_s * 100 / args.seconds:.0f}% of a "
          f"core in all), the residents' process {residents_s * 1000 / answered:.1f} "
          "ms")  # fmt: skip
    total_errors = 0
    print(f"  (p95 later: without the first {args.ramp:.0f} s, while every resident's "
          "first visit arrives)")  # fmt: skip
    for kind in KINDS:
        times = [took * 1000 for _into, took in samples.get(kind, [])]
        if not times:
            continue
        later = [took * 1000 for into, took in samples[kind] if into >= args.ramp]
        failed = errors.get(kind, [])
        total_errors += len(failed)
        statuses = [status for status, _body in failed]
        kinds = ", ".join(
            f"{status}: {statuses.count(status)}" for status in sorted(set(statuses))
        )
        p50, p95 = statistics.median(times), common.percentile(times, 0.95)
        print(
            f"  {kind:<12} {len(times):5d} requests  p50 {p50:7.1f} ms"
            f"  p95 {p95:7.1f} ms (later {common.percentile(later or [0], 0.95):6.1f})"
            f"  max {max(times):7.1f} ms"
            f"  errors {len(failed)}{f' ({kinds})' if failed else ''}"
        )
        for status in sorted(set(statuses)):
            body = next(body for code, body in failed if code == status)
            print(f"      first {status}: {body}")
    print(f"  errors: {total_errors} (target 0); p95 target < 500 ms; "
          f"tickets filed in this run by send state: {states}")  # fmt: skip


def one_run(layout, city, url, folder, tokens, points, count, args) -> None:
    """One storm against one layout; with ``city`` None the sandbox answers."""
    city_settings = {"CITY_URL": city.url, "CITY_API_KEY": "storm"} if city else {}
    env = common.portal_env(
        url, folder, CITY_WORKER_INTERVAL=1.0, SESSION_COOKIE_SECURE=False,
        **city_settings,
    )  # fmt: skip
    engine = create_engine(url)
    with engine.connect() as connection:
        first = connection.scalar(text("SELECT max(id) FROM tickets"))
    processes = []
    try:
        base, web, processes = start_layout(layout, env, folder)
        workers = common.children(web.pid)
        spies = common.start_spies(workers, args.profile, f"storm-{layout}")
        web_cpu = common.cpu_seconds(workers)
        cpu = resource.getrusage(resource.RUSAGE_SELF)
        samples, errors = asyncio.run(storm(base, tokens, points, count, args))
        after = resource.getrusage(resource.RUSAGE_SELF)
        cpu_s = after.ru_utime + after.ru_stime - cpu.ru_utime - cpu.ru_stime
        web_cpu = common.cpu_seconds(workers) - web_cpu
        common.stop_spies(spies)
        with engine.connect() as connection:
            rows = connection.execute(
                text(
                    "SELECT send_state, count(*) FROM tickets WHERE id > :first "
                    "AND filed_by_id IS NOT NULL GROUP BY send_state"
                ),
                {"first": first},
            ).all()
        states = ", ".join(f"{state} {n}" for state, n in rows) or "none"
        report(layout, samples, errors, city, states, (cpu_s, web_cpu), args)
        if spies:
            print_profile([output for _spy, output in spies])
    finally:
        engine.dispose()
        for process in reversed(processes):
            common.stop_process(process)
        if city:
            city.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--residents", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--layout", choices=("serve", "run", "both"), default="both")
    parser.add_argument(
        "--city",
        choices=("hang", "answering", "both"),
        default="hang",
        help="answering: the built-in sandbox, a control run",
    )
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--keep", help="folder keeping the database between runs")
    parser.add_argument("--file-share", type=float, default=0.15,
                        help="share of visits that end in a report")  # fmt: skip
    parser.add_argument("--profile", metavar="FOLDER", help="py-spy the web workers")
    parser.add_argument("--ramp", type=float, default=10.0,
                        help="seconds left out of the 'later' p95")  # fmt: skip
    parser.add_argument(
        "--think",
        type=lambda text: tuple(float(part) for part in text.split(",")),
        default=(1.0, 5.0),
        help="seconds between a resident's pages, uniform: MIN,MAX",
    )
    parser.add_argument("--timeout", type=float, default=30.0,
                        help="seconds a resident waits for an answer")  # fmt: skip
    args = parser.parse_args()
    common.raise_open_files()
    folder = args.keep or tempfile.mkdtemp(prefix="bench-storm-")
    url, tokens, points, count = prepare(args, folder)
    layouts = ("serve", "run") if args.layout == "both" else (args.layout,)
    cities = ("hang", "answering") if args.city == "both" else (args.city,)
    for layout in layouts:
        for kind in cities:
            city = HangingCity() if kind == "hang" else None
            one_run(layout, city, url, folder, tokens, points, count, args)
    print(f"(logs in {folder})")


if __name__ == "__main__":
    main()
