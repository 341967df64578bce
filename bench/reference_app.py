"""The serving benchmark's yardstick: a minimal Flask app on the driver alone.

The same four answers as the portal, done by hand on the portal's own database and
indexes (R*Tree on SQLite, GiST on PostgreSQL, the per-cell counts): nearby tickets as
GeoJSON, a 401 for /api/v1/me, a ticket page, a viewport's clusters. No ORM, no
extensions, no security headers, no sessions. Served as the issue measured it:

    BENCH_REFERENCE_DATABASE=FILE.db gunicorn -w 2 bench.reference_app:app
    BENCH_REFERENCE_DATABASE=postgresql://... gunicorn -w 2 bench.reference_app:app
"""

import json
import math
import os
import sqlite3

from flask import Flask, Response, abort, render_template_string, request

DATABASE = os.environ.get("BENCH_REFERENCE_DATABASE", "portal.db")
POSTGRESQL = DATABASE.startswith("postgresql")
MARK = "%s" if POSTGRESQL else "?"
METRES_PER_DEGREE = math.pi * 6_371_008.8 / 180
COLUMNS = (
    "id, lat, lon, status, service_code, service_name, address, requested_at, "
    "supporters, substr(description, 1, 140)"
)
BOX_POINTS = (
    "SELECT id, (min_lat + max_lat) / 2, (min_lon + max_lon) / 2 "
    "FROM ticket_rtree_open WHERE max_lat >= ? AND min_lat <= ? "
    "AND max_lon >= ? AND min_lon <= ?"
)
# PostgreSQL: the nearest ids from the GiST index of open tickets, then their rows.
NEAREST = (
    f"SELECT {COLUMNS} FROM tickets WHERE id IN (SELECT id FROM tickets "
    "WHERE point(lon, lat) <@ box(point(%s, %s), point(%s, %s)) AND status = 'open' "
    "ORDER BY (lat - %s) ^ 2 * %s + (lon - %s) ^ 2 * %s LIMIT %s)"
)
PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>{{ t.service_name }}</title></head><body><main>
<h1>{{ t.service_name }}</h1><p>{{ t.status }} · {{ t.address }}</p>
<dl><dt>Reported</dt><dd>{{ t.requested_at }}</dd>
{% if t.area %}<dt>Neighborhood</dt><dd>{{ t.area }}</dd>{% endif %}
<dt>Neighbors with this problem</dt><dd>{{ t.supporters }}</dd></dl>
<h2>Description</h2><p>{{ t.description }}</p>
{% if t.status_notes %}<h2>The city's notes</h2><p>{{ t.status_notes }}</p>{% endif %}
<h2>History</h2><ol>{% for e in events %}<li>{{ e[0] }}: {{ e[1] }} {{ e[2] or "" }}
</li>{% endfor %}</ol></main></body></html>"""

app = Flask(__name__)


_SHARED = {}


def connection():
    """One connection per worker process, opened after gunicorn forks (a sync
    worker serves one request at a time)."""
    if "conn" not in _SHARED:
        if POSTGRESQL:
            import psycopg

            conn = psycopg.connect(DATABASE, autocommit=True)
            conn.execute("SET max_parallel_workers_per_gather = 0")
        else:
            conn = sqlite3.connect(DATABASE, check_same_thread=False)
        _SHARED["conn"] = conn
    return _SHARED["conn"]


def rows(sql: str, params=()) -> list:
    cursor = connection().cursor()
    cursor.execute(sql.replace("?", MARK), params)
    found = cursor.fetchall()
    cursor.close()
    return found


def feature(row, metres=None) -> dict:
    properties = {
        "id": row[0],
        "status": row[3],
        "service_code": row[4],
        "service_name": row[5],
        "address": row[6],
        "requested_at": str(row[7]),
        "supporters": row[8],
        "description": row[9],
        "url": f"/tickets/{row[0]}",
    }
    if metres is not None:
        properties["distance"] = round(metres, 1)
    return {
        "type": "Feature",
        "id": row[0],
        "geometry": {"type": "Point", "coordinates": [row[2], row[1]]},
        "properties": properties,
    }


def nearby(lat: float, lon: float, radius: float, limit: int) -> list[dict]:
    ky = METRES_PER_DEGREE
    kx = ky * math.cos(math.radians(lat))
    dlat, dlon = radius / ky, radius / kx
    south, north, west, east = lat - dlat, lat + dlat, lon - dlon, lon + dlon
    if POSTGRESQL:
        params = (west, south, east, north, lat, ky * ky, lon, kx * kx, limit)
        found = rows(NEAREST, params)
    else:
        near = sorted(
            (((x - lon) * kx) ** 2 + ((y - lat) * ky) ** 2, ticket_id)
            for ticket_id, y, x in rows(BOX_POINTS, (south, north, west, east))
        )
        reach = radius * radius
        ids = [ticket_id for squared, ticket_id in near[:limit] if squared <= reach]
        if not ids:
            return []
        marks = ",".join("?" * len(ids))
        found = rows(f"SELECT {COLUMNS} FROM tickets WHERE id IN ({marks})", ids)
    with_distance = []
    for row in found:
        metres = math.hypot((row[2] - lon) * kx, (row[1] - lat) * ky)
        if metres <= radius:
            with_distance.append((metres, row))
    with_distance.sort(key=lambda pair: pair[0])
    return [feature(row, metres) for metres, row in with_distance]


def clusters(west, south, east, north, zoom: int) -> list[dict]:
    """The per-cell counts at the zoom's grid level (10 to 15), one feature a cell."""
    level = min(max(zoom, 10), 15)
    size = 360.0 / (1 << (level + 2))
    x0, x1 = int((west + 180) / size), int((east + 180) / size)
    y0, y1 = int((south + 90) / size), int((north + 90) / size)
    cells = rows(
        "SELECT cx, cy, sum(n), sum(lat_sum), sum(lon_sum) FROM ticket_cells "
        "WHERE level = ? AND cx BETWEEN ? AND ? AND cy BETWEEN ? AND ? AND n > 0 "
        "AND status = 'open' GROUP BY cx, cy ORDER BY cx, cy",
        (level, x0, x1, y0, y1),
    )
    return [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [lons / n, lats / n]},
            "properties": {
                "cluster": True,
                "count": n,
                "statuses": {"open": n},
                "bounds": [
                    cx * size - 180,
                    cy * size - 90,
                    (cx + 1) * size - 180,
                    (cy + 1) * size - 90,
                ],
            },
        }  # fmt: skip
        for cx, cy, n, lats, lons in cells
        if n > 0
    ]


@app.get("/api/v1/tickets")
def tickets():
    args = request.args
    if "near" in args:
        lat, lon = (float(part) for part in args["near"].split(","))
        features = nearby(
            lat, lon, float(args.get("radius", 1000)), int(args.get("limit", 500))
        )
    else:
        west, south, east, north = (float(part) for part in args["bbox"].split(","))
        features = clusters(west, south, east, north, int(args.get("zoom", 16)))
    body = json.dumps({"type": "FeatureCollection", "features": features})
    return Response(body, mimetype="application/geo+json")


@app.get("/api/v1/me")
def me():
    body = {"error": {"code": "unauthorized", "message": "Sign in first."}}
    return Response(json.dumps(body), status=401, mimetype="application/json")


@app.get("/tickets/<int:ticket_id>")
def ticket_page(ticket_id: int):
    found = rows(
        "SELECT t.service_name, t.status, t.address, t.requested_at, t.supporters, "
        "t.description, t.status_notes, a.name FROM tickets t "
        "LEFT JOIN areas a ON a.id = t.area_id WHERE t.id = ?",
        (ticket_id,),
    )
    if not found:
        abort(404)
    names = ("service_name", "status", "address", "requested_at", "supporters",
             "description", "status_notes", "area")  # fmt: skip
    ticket = dict(zip(names, found[0], strict=True))
    events = rows(
        "SELECT at, kind, new_status FROM ticket_events WHERE ticket_id = ? "
        "ORDER BY id",
        (ticket_id,),
    )
    return render_template_string(PAGE, t=ticket, events=events)
