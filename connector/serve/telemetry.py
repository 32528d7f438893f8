"""The service's Prometheus metrics, served at /metrics (counters: the process lives on).

The last run's gauges of `connector.metrics` (the textfile) stay as they are for cron; these
say what the service has done since it started.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from connector.report import InstanceRun

#: Delivery to cycle end, in seconds: the goal for an event-caused escalation is under 5 s.
LATENESS_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 30.0, 60.0, 300.0)


class Telemetry:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.cycles = Counter(
            "escalation_serve_cycles",
            "Cycles run, by what prompted them and how they ended.",
            ("instance", "reason", "outcome"),
            registry=r,
        )
        self.cycle_seconds = Histogram(
            "escalation_serve_cycle_duration_seconds",
            "Wall time of a cycle.",
            ("instance",),
            registry=r,
        )
        self.writes = Counter(
            "escalation_serve_writes",
            "Ticket changes by outcome.",
            ("instance", "status"),
            registry=r,
        )
        self.webhooks = Counter(
            "escalation_serve_webhooks",
            "Webhook deliveries by result: accepted, duplicate, forged, stale, unknown, bad.",
            ("platform", "instance", "result"),
            registry=r,
        )
        self.overflows = Counter(
            "escalation_serve_hint_overflows",
            "Deliveries that found the instance's queue full (its next cycle is a full sweep).",
            ("instance",),
            registry=r,
        )
        self.waiting = Gauge(
            "escalation_serve_hints_waiting",
            "Tickets named by webhooks, waiting for a cycle.",
            ("instance",),
            registry=r,
        )
        self.lateness = Histogram(
            "escalation_serve_hint_lateness_seconds",
            "From a webhook's delivery to the end of the cycle that looked at its ticket.",
            ("instance",),
            buckets=LATENESS_BUCKETS,
            registry=r,
        )
        self.last_success = Gauge(
            "escalation_serve_last_success_timestamp_seconds",
            "When a cycle of the instance last finished without failures.",
            ("instance",),
            registry=r,
        )
        self.reloads = Counter(
            "escalation_serve_config_reloads",
            "SIGHUP reloads: applied, or refused (the old configuration kept).",
            ("result",),
            registry=r,
        )
        self.ready = Gauge("escalation_serve_ready", "1 once a cycle has succeeded.", registry=r)
        self.policy = Gauge(
            "escalation_serve_policy_info",
            "The policy in force (its hash); 1 for the current one.",
            ("policy_hash",),
            registry=r,
        )
        self._hash: str | None = None

    def policy_in_force(self, policy_hash: str) -> None:
        if self._hash is not None:
            self.policy.remove(self._hash)
        self._hash = policy_hash
        self.policy.labels(policy_hash).set(1)

    def cycle(self, run: InstanceRun, reason: str) -> None:
        self.cycles.labels(run.name, reason, run.outcome.value).inc()
        self.cycle_seconds.labels(run.name).observe(run.seconds)
        for result in run.results:
            self.writes.labels(run.name, result.status.value).inc()
