"""Fault injection for the sandbox city, chosen per request by configured rates."""

import random
import threading
from dataclasses import dataclass, fields

KINDS = ("error", "unavailable", "timeout", "drop", "malformed")

# 30% of requests fail, in every way there is: the plan the tests and benchmarks use.
THIRTY_PERCENT = {
    "error": 0.08,
    "unavailable": 0.06,
    "timeout": 0.04,
    "drop": 0.06,
    "malformed": 0.06,
    "retry_after": "0",
}


@dataclass
class FaultPlan:
    """Rates are probabilities per request; they add up (30% faults: rates sum to 0.3).

    ``drop`` and ``timeout`` on a POST happen after the request was stored, as when a
    city's gateway loses the answer of a request its back office accepted.
    """

    error: float = 0.0  # 500 with an HTML page
    unavailable: float = 0.0  # 503 with Retry-After
    timeout: float = 0.0  # answer only after timeout_seconds
    drop: float = 0.0  # connection closed without an answer
    malformed: float = 0.0  # 200 with a truncated body
    latency_ms: int = 0
    retry_after: str = "1"  # seconds, or an HTTP date
    timeout_seconds: float = 2.0
    outage_after: int | None = None  # after this many requests, every answer is a 503
    seed: int | None = None

    @classmethod
    def from_config(cls, config: dict | None) -> "FaultPlan":
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in (config or {}).items() if k in known})

    def __post_init__(self):
        self._rng = random.Random(self.seed)
        self._lock = threading.Lock()
        self.served = 0

    def pick(self) -> str | None:
        """The fault for this request, or None."""
        with self._lock:
            self.served += 1
            if self.outage_after is not None and self.served > self.outage_after:
                return "unavailable"
            roll = self._rng.random()
        for kind in KINDS:
            rate = getattr(self, kind)
            if roll < rate:
                return kind
            roll -= rate
        return None
