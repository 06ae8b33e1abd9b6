"""The alerts wall and its text search beside the Django admin's change list.

Server time is the request handled in-process by Django's test Client:
middleware, view, queries and template, without a network in between.
"""

from __future__ import annotations

from typing import Any

from bench.data import ADMIN_ID, owner_id
from bench.report import Row, Table, median_ms

RUNS = 20
PEER_RUNS = 5
WALL_TARGET_MS = 50.0
SEARCH_TARGET_MS = 150.0
SPEEDUP_TARGET = 20.0
ADMIN_LIST = "/admin/alerts/alert/"
# The wall shows active alerts unless asked otherwise; the admin shows every
# state, so its URLs ask for active ones to list the same rows.
PAGES = [
    ("first page", "/", "?state__exact=active"),
    ("Errors only", "/?level=error", "?state__exact=active&level__exact=error"),
    (
        "Errors of one profile",
        "/?level=error&profile=1",
        "?state__exact=active&level__exact=error&profile__id__exact=1",
    ),
]
SEARCHES = [
    ("an address (one alert)", "user1234@example70"),
    ("an address (no alert)", "user1234@example71"),
    ("a host (one alert in 250)", "192.0.2.117"),
    ("a common word", "quota"),
]


def client_for(user_id: int) -> Any:
    from django.contrib.auth.models import User
    from django.test import Client

    client = Client()
    client.force_login(User.objects.get(pk=user_id))
    return client


def timed_get(client: Any, url: str, runs: int) -> float:
    """Return the median server time of GET url, checking it answers 200."""

    def get() -> None:
        response = client.get(url)
        if response.status_code != 200:
            raise RuntimeError(f"{url} answered {response.status_code}")

    return median_ms(get, runs)


def _halves(ours: float, ratio: float) -> str:
    """Say which half of a two-part wall target was met."""
    time_met = "met" if ours < WALL_TARGET_MS else "missed"
    ratio_met = "met" if ratio >= SPEEDUP_TARGET else "missed"
    return f"< {WALL_TARGET_MS:.0f} ms {time_met}; >= {SPEEDUP_TARGET:.0f}x {ratio_met}"


def measure(table: Table) -> None:
    admin = client_for(ADMIN_ID)
    owner = client_for(owner_id(1))
    peers: dict[str, float] = {}
    for name, wall_url, admin_query in PAGES:
        peer = peers[name] = timed_get(admin, ADMIN_LIST + admin_query, PEER_RUNS)
        for role, client in (("admin", admin), ("mailbox owner", owner)):
            ours = timed_get(client, wall_url, RUNS)
            table.add(
                Row(
                    f"wall, {name}, as {role}",
                    "ms median",
                    ours,
                    "Django admin change list",
                    peer,
                    peer / ours,
                    f"< {WALL_TARGET_MS:.0f} ms, >= {SPEEDUP_TARGET:.0f}x",
                    ours < WALL_TARGET_MS and peer / ours >= SPEEDUP_TARGET,
                    _halves(ours, peer / ours),
                )
            )

    for name, term in SEARCHES:
        peer = timed_get(admin, f"{ADMIN_LIST}?state__exact=active&q={term}", 3)
        ours = timed_get(admin, f"/?q={term}", RUNS)
        table.add(
            Row(
                f"wall text search, {name}, as admin",
                "ms median",
                ours,
                "Django admin search (?q=)",
                peer,
                peer / ours,
                f"< {SEARCH_TARGET_MS:.0f} ms",
                ours < SEARCH_TARGET_MS,
                f"q={term}",
            )
        )
    table.notes.append(
        f"Wall rows: median of {RUNS} requests after 2 warm-up requests; the "
        f"admin change list: median of {PEER_RUNS} (3 for its search), as the "
        "superuser, with ?state__exact=active so that it lists the same alerts "
        "as the wall (which shows active alerts by default)."
    )
