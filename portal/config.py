"""Default configuration; PORTAL_* variables override it, tests pass a mapping."""

from datetime import timedelta


class Config:
    # Secrets never live here: PORTAL_SECRET_KEY, or a development key generated into
    # instance/.
    SECRET_KEY = None
    SQLALCHEMY_DATABASE_URI = (
        None  # defaults to an SQLite file in instance/ (see create_app)
    )
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    DATABASE_URL = None

    CITY_NAME = "Philadelphia"
    CITY_TIMEZONE = "America/New_York"
    CITY_URL = None  # None: the built-in sandbox city
    CITY_API_KEY = None
    CITY_JURISDICTION = None
    CITY_FORMAT = "json"
    CITY_ADDRESS_FIELDS = ["address_string", "address"]  # some servers read address
    CITY_PUSH_KEY = None  # the key a city sends with pushed updates (default: API key)
    CITY_TIMEOUT = 15.0  # seconds per request to the city
    # The outbox: retries back off exponentially, with jitter, from BASE to MAX seconds.
    CITY_RETRY_BASE = 2.0
    CITY_RETRY_MAX = 900.0
    CITY_MAX_ATTEMPTS = 8
    CITY_LEASE_SECONDS = (
        120.0  # a claimed ticket returns to the queue if its worker dies
    )
    CITY_SEND_BATCH = 50
    CITY_TOKEN_POLL = 30.0  # seconds between looks at a token
    CITY_SYNC_OVERLAP = (
        300.0  # re-read this many seconds before the last high-water mark
    )
    CITY_SYNC_PAGE_SIZE = 500
    CITY_WORKER_INTERVAL = 5.0
    CITY_SYNC_INTERVAL = 60.0
    CITY_SYNC_BUDGET = 900.0  # a first import reads the city's open requests: longer
    CITY_SERVICES_INTERVAL = 3600.0  # the service list is fetched again this often
    CITY_WORKER_IN_RUN = True  # `portal run` sends and syncs in a background task
    # A submission the city answers with its same server error this many times in a
    # row is held for an admin (with the city's words) instead of retried to the end.
    CITY_HOLD_AFTER = 5
    # "auto": a submission whose answer was lost is posted again only once the city's
    # listing is seen to show a newer request of ours (some cities hide new requests
    # until staff publish them); "yes": the listing always shows new requests at once.
    CITY_NEW_REQUESTS_LISTED = "auto"
    CITY_LISTING_PROBE_INTERVAL = 3600.0  # seconds between looks at how it lists

    # The worker: each duty (sending, the sync, reminders…) runs in its own thread.
    WORKER_DUTY_BUDGET = 120.0  # seconds one pass may take before it stops itself
    WORKER_RETRY_FAILED = 30.0  # a failed pass comes back after this, not its interval
    # /healthz says "degraded" when no duty has passed for this long (seconds).
    WORKER_STALE_AFTER = 300.0
    EVENTS_INTERVAL = 60.0  # reminders and finished events are looked at this often

    # The built-in sandbox city (used when CITY_URL is unset).
    SANDBOX_DATABASE_URL = None  # default: sandbox.db in the instance folder
    SANDBOX_API_KEY = "sandbox-demo-key"
    SANDBOX_SEED_COUNT = 3000
    SANDBOX_BATCH_DELAY = 20.0  # seconds before a batch service's token gets its id
    SANDBOX_FAULTS = {}
    SANDBOX_DIALECT = []  # real servers' deviations to speak (README: Dialects)
    SANDBOX_TICK_INTERVAL = 30.0  # `portal run` moves the sandbox's requests along
    REDIS_URL = None
    TILES_URL = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
    TILES_ATTRIBUTION = "&copy; OpenStreetMap contributors"
    UPLOAD_DIR = None  # default: uploads/ in the instance folder
    MAP_CENTER = (39.9526, -75.1652)  # where the map opens without a location
    MAP_ZOOM = 13
    GEOCODER_URL = None  # None: the offline gazetteer; else a Nominatim-compatible API
    GEOCODER_TIMEOUT = 5.0

    # Filing.
    LOCATION_CHECK_METRES = 150  # typed address this far from the pin/device: ask
    DUPLICATE_RADIUS = 50  # metres; open tickets of the same service this near
    DUPLICATE_RADIUS_BY_SERVICE = {}  # service code -> metres, e.g. streets: larger
    PHOTO_MAX_BYTES = 10 * 1024 * 1024
    PHOTOS_PER_TICKET = 3
    PHOTO_MAX_SIDE = 2048  # re-encoded photos are at most this wide or tall
    # Refused from the header, before decoding, which costs in proportion (49 million
    # RGB pixels: about 150 MB and half a second); phones save 12 million by default.
    PHOTO_MAX_PIXELS = 40_000_000
    FILING_LIMIT = "10 per hour;30 per day"

    # Forums.
    FORUM_DELETE_MINUTES = 30  # an author may delete a post this long after posting
    FORUM_FLAG_THRESHOLD = 3  # distinct flags that hide a post until a moderator looks
    FORUM_NEW_ACCOUNT_DAYS = 3  # accounts younger than this count as new
    FORUM_HOLD_FIRST_POSTS = 0  # hold this many first posts of new accounts (0: none)
    # Threads and replies per account (Flask-Limiter syntax); new accounts get less.
    FORUM_POST_LIMIT = "10 per minute;200 per day"
    FORUM_POST_LIMIT_NEW = "3 per minute;30 per day"
    FORUM_FLAG_LIMIT = "20 per hour"
    # Per signed-in account (per address when anonymous), across its connections
    # and namespaces.
    SOCKET_EVENT_LIMIT = "20 per 10 seconds"

    # Events.
    CLEANUP_SERVICE_CODES = ["SBX-DUMP", "SBX-VLC"]  # what a cleanup can fix
    REMINDER_HOURS = 24  # reminders go this long before an event starts
    PUBLIC_URL = None  # e.g. https://portal.example.org, for links in emails
    # Mail (Flask-Mail): no MAIL_SERVER, no email; reminders still show on the site.
    MAIL_SERVER = None
    MAIL_PORT = 25
    MAIL_USE_TLS = False
    MAIL_USERNAME = None
    MAIL_PASSWORD = None
    MAIL_DEFAULT_SENDER = None
    MAIL_SUPPRESS_SEND = False  # Flask-Mail would drop mail under TESTING; tests use
    # a real local SMTP server instead

    BABEL_DEFAULT_LOCALE = "en"
    LANGUAGES = ["en"]

    # Cookies: secure by default. Browsers treat http://127.0.0.1 and localhost as
    # secure contexts,
    # so the demo works over plain HTTP on loopback; any other host needs HTTPS.
    SESSION_COOKIE_SECURE = True
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_NAME = "portal_session"
    PERMANENT_SESSION_LIFETIME = timedelta(days=14)
    # Proxies in front that set X-Forwarded-For and -Proto (a TLS proxy: 1). 0: none,
    # and the headers are ignored, since a client could send them itself.
    PROXY_HOPS = 0
    FORCE_HTTPS = (
        False  # set behind a TLS-terminating proxy that does not redirect itself
    )

    WTF_CSRF_TIME_LIMIT = (
        None  # the token lives as long as the session; forms left open do not expire
    )
    MAX_CONTENT_LENGTH = 32 * 1024 * 1024  # three photos of up to 10 MB each
    MAX_FORM_MEMORY_SIZE = 1024 * 1024  # any single non-file form field

    RATELIMIT_STORAGE_URI = None  # memory://, or REDIS_URL when that is set
    # Redis away: limits count in this process until it is back; pages never fail.
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
    RATELIMIT_SWALLOW_ERRORS = True
    # A stalled Redis holds a request half a second, once; then limits count in memory.
    RATELIMIT_STORAGE_OPTIONS = {"socket_timeout": 0.5, "socket_connect_timeout": 0.5}
    RATELIMIT_HEADERS_ENABLED = True
    LOGIN_LIMIT_PER_ADDRESS = "20 per 10 minutes"
    LOGIN_LIMIT_PER_ACCOUNT = "5 per 10 minutes"
    REGISTER_LIMIT_PER_ADDRESS = "10 per hour"

    # "auto": gevent in a process the entry point patched (portal run, portal serve,
    # gunicorn with the gevent worker), threading anywhere else (tests, shells).
    SOCKETIO_ASYNC_MODE = "auto"
    # Pages connect over WebSocket alone: gunicorn's workers share no long-polling
    # state, so a polling client would land on a worker that does not know it.
    SOCKETIO_TRANSPORTS = ["websocket"]
    # Each web process holds this many database connections, and this many more at a
    # busy moment; a greenlet waits for one rather than sharing it.
    DATABASE_POOL_SIZE = 10
    DATABASE_MAX_OVERFLOW = 10
    DATABASE_POOL_TIMEOUT = 10.0  # seconds a request waits for a connection, then 503
    # Each web process keeps public answers (map API, pages for the signed-out) this
    # many bytes deep, keyed by the database's change stamps; 0 keeps none.
    ANSWER_MEMO_BYTES = 64 * 1024 * 1024

    # flask-smorest: the OpenAPI document of the JSON API v1.
    API_TITLE = "Neighborhood Portal API"
    API_VERSION = "v1"
    OPENAPI_VERSION = "3.0.3"
    OPENAPI_URL_PREFIX = "/api/v1"
    OPENAPI_JSON_PATH = "openapi.json"

    DEMO_PASSWORD = "portal-demo-2026"
