"""The dashboard: mailbox health and alerts over time."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from django.contrib.auth.decorators import login_required
from django.db.models import Count, QuerySet
from django.db.models.functions import TruncDate
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from alerts.choices import Level
from alerts.models import Alert
from mailboxes.choices import Health
from mailboxes.filters import health_by_profile, health_counts
from mailboxes.models import Mailbox
from serverprofiles.models import ServerProfile

CHART_DAYS = 30
BAR_STEP = 20
BAR_WIDTH = 14
CHART_HEIGHT = 160
TOP_PROFILES = 5


@dataclass
class Bar:
    """One stacked segment of the chart, in SVG units."""

    level: str
    x: int
    y: float
    height: float
    title: str


@dataclass
class Chart:
    days: int
    width: int
    height: int
    peak: int
    bars: list[Bar] = field(default_factory=list)
    first_day: datetime.date | None = None
    last_day: datetime.date | None = None


def alerts_per_day(alerts: QuerySet[Alert], days: int = CHART_DAYS) -> Chart:
    """Return a stacked bar chart of new alerts per day and level."""
    today = timezone.localdate()
    start = today - datetime.timedelta(days=days - 1)
    start_at = timezone.make_aware(datetime.datetime.combine(start, datetime.time.min))
    rows = (
        alerts.filter(first_seen__gte=start_at)
        .annotate(day=TruncDate("first_seen", tzinfo=timezone.get_current_timezone()))
        .order_by()
        .values_list("day", "level")
        .annotate(n=Count("id"))
    )
    per_day: dict[datetime.date, dict[str, int]] = {}
    for day, level, n in rows:
        per_day.setdefault(day, {})[level] = n
    peak = max((sum(v.values()) for v in per_day.values()), default=0)
    chart = Chart(days=days, width=days * BAR_STEP, height=CHART_HEIGHT, peak=peak)
    chart.first_day, chart.last_day = start, today
    scale = (CHART_HEIGHT - 10) / peak if peak else 0
    for i in range(days):
        day = start + datetime.timedelta(days=i)
        bottom = float(CHART_HEIGHT)
        for level, label in Level.choices:
            n = per_day.get(day, {}).get(level, 0)
            if not n:
                continue
            height = n * scale
            bottom -= height
            chart.bars.append(
                Bar(
                    level=level,
                    x=i * BAR_STEP + (BAR_STEP - BAR_WIDTH) // 2,
                    y=round(bottom, 2),
                    height=round(height, 2),
                    title=f"{day:%d %b}: {n} {label.lower()}",
                )
            )
    return chart


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    mailboxes = Mailbox.objects.visible_to(request.user)
    counts = health_counts(mailboxes)
    health = [(value, label, counts[value]) for value, label in Health.choices]

    by_profile = health_by_profile(mailboxes)
    failing = {
        pk: c[Health.FAILING] + c[Health.SUSPENDED]
        for pk, c in by_profile.items()
        if c[Health.FAILING] + c[Health.SUSPENDED]
    }
    top_ids = sorted(failing, key=lambda pk: -failing[pk])[:TOP_PROFILES]
    names = ServerProfile.objects.in_bulk(top_ids)
    top_profiles = [(names[pk], failing[pk]) for pk in top_ids if pk in names]

    chart = alerts_per_day(Alert.objects.visible_to(request.user))
    context = {
        "health": health,
        "top_profiles": top_profiles,
        "chart": chart,
        "levels": Level.choices,
    }
    return render(request, "dashboard.html", context)
