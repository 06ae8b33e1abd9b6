"""GET /metrics: Prometheus metrics, for ops and admins (token or session).

Gauges about stored state (alerts, mailboxes, failures) are read from the
database at scrape time by a collector, so every web process reports the
same numbers. Processing run durations are a histogram that processing code
observes in its own process; with PROMETHEUS_MULTIPROC_DIR set, the
processes of one machine share them through prometheus_client's
multiprocess mode.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

from django.db.models import Count, Q
from django.http import HttpResponse
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from rest_framework.authentication import SessionAuthentication
from rest_framework.exceptions import PermissionDenied
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.views import APIView

from alertcenter.access import is_ops
from alertcenter.api.auth import BearerTokenAuthentication
from alerts.choices import AlertState, FailureSource, Level
from alerts.models import Alert, FailureRecord
from mailboxes.choices import ProcessingState
from mailboxes.models import Mailbox

PROCESSING_RUN_SECONDS = Histogram(
    "alertcenter_processing_run_seconds",
    "Duration of one processing run (a mailbox or Test & Enable).",
    ["kind"],
    buckets=(0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300),
)


def observe_processing_run(kind: str, seconds: float) -> None:
    """Record how long one processing run took (kind: "mailbox", "test")."""
    PROCESSING_RUN_SECONDS.labels(kind=kind).observe(seconds)


class DatabaseCollector(Collector):
    """Read counts of alerts, mailboxes and failures at scrape time."""

    def describe(self) -> list[GaugeMetricFamily]:
        # Without this, registering would call collect() and query at import.
        return []

    def collect(self) -> Iterator[GaugeMetricFamily]:
        alerts = GaugeMetricFamily(
            "alertcenter_alerts",
            "Alerts stored, by level and state.",
            labels=["level", "state"],
        )
        counts = dict(
            ((level, state), n)
            for level, state, n in Alert.objects.order_by()
            .values_list("level", "state")
            .annotate(n=Count("id"))
        )
        for level in Level.values:
            for state in AlertState.values:
                alerts.add_metric([level, state], counts.get((level, state), 0))
        yield alerts

        mailboxes = GaugeMetricFamily(
            "alertcenter_mailboxes",
            "Mailboxes, by processing state.",
            labels=["processing_state"],
        )
        by_state = dict(
            Mailbox.objects.order_by()
            .values_list("processing_state")
            .annotate(n=Count("id"))
        )
        for state in ProcessingState.values:
            mailboxes.add_metric([state], by_state.get(state, 0))
        yield mailboxes

        received = GaugeMetricFamily(
            "alertcenter_failures_received",
            "Failures stored (within retention), by source.",
            labels=["source"],
        )
        processed = GaugeMetricFamily(
            "alertcenter_failures_processed",
            "Stored failures that the funnel has processed, by source.",
            labels=["source"],
        )
        rows = {
            source: (total, done)
            for source, total, done in FailureRecord.objects.order_by()
            .values_list("source")
            .annotate(
                total=Count("id"),
                done=Count("id", filter=Q(processed_at__isnull=False)),
            )
        }
        for source in FailureSource.values:
            total, done = rows.get(source, (0, 0))
            received.add_metric([source], total)
            processed.add_metric([source], done)
        yield received
        yield processed


DATABASE_COLLECTOR = DatabaseCollector()
REGISTRY.register(DATABASE_COLLECTOR)


def scrape_registry() -> CollectorRegistry:
    """Return the registry to expose: this process's metrics, or in
    multiprocess mode those of every process of the machine, and the
    database collector."""
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return REGISTRY
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    registry.register(DATABASE_COLLECTOR)
    return registry


class AnyAccept(BaseContentNegotiation):
    """Answer errors in JSON whatever the scraper accepts."""

    def select_parser(self, request: Request, parsers: Any) -> Any:
        return parsers[0] if parsers else None

    def select_renderer(
        self, request: Request, renderers: Any, format_suffix: str | None = None
    ) -> tuple[Any, str]:
        return renderers[0], renderers[0].media_type


class MetricsView(APIView):
    """Prometheus scrapes with `Authorization: Bearer <token of an ops user>`."""

    authentication_classes = [BearerTokenAuthentication, SessionAuthentication]
    permission_classes = [IsAuthenticated]
    renderer_classes = [JSONRenderer]
    content_negotiation_class = AnyAccept
    schema = None

    def get(self, request: Request) -> HttpResponse:
        if not is_ops(request.user):
            raise PermissionDenied("Metrics are for ops and admins.")
        body = generate_latest(scrape_registry())
        return HttpResponse(body, content_type=CONTENT_TYPE_LATEST)
