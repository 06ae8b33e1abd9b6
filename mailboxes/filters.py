"""Mailbox health and the filters of the mailbox list."""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import Case, Count, Exists, OuterRef, Q, QuerySet, Value, When
from django.http import HttpRequest

from alerts.choices import AlertState, Level, Scope
from alerts.models import Alert
from mailboxes.choices import Health, ProcessingState
from mailboxes.models import Mailbox
from serverprofiles.choices import TestStatus
from serverprofiles.models import ServerProfile


def _active_alert(level: str) -> Exists:
    # Trouble of single emails (a remote recipient that does not exist) says
    # nothing about the mailbox's own health.
    return Exists(
        Alert.objects.filter(
            mailbox=OuterRef("pk"), level=level, state=AlertState.ACTIVE
        ).exclude(scope=Scope.EMAIL)
    )


def with_health(queryset: QuerySet[Mailbox]) -> QuerySet[Mailbox]:
    """Annotate each mailbox with its health, the first that applies of:
    suspended, failing (a failed test or an active error), with warnings
    (a failure streak, a backoff or an active warning), not tested, healthy."""
    suspended = (
        Q(incoming_suspended=True)
        | Q(outgoing_suspended=True)
        | Q(processing_state=ProcessingState.SUSPENDED)
    )
    failing = (
        Q(incoming_test=TestStatus.FAILURE)
        | Q(outgoing_test=TestStatus.FAILURE)
        | Q(sync_test=TestStatus.FAILURE)
        | Q(_active_alert(Level.ERROR))
    )
    warning = (
        Q(consecutive_failures__gt=0)
        | Q(processing_state=ProcessingState.BACKOFF)
        | Q(_active_alert(Level.WARNING))
    )
    not_tested = Q(incoming_test=TestStatus.NOT_RUN, outgoing_test=TestStatus.NOT_RUN)
    return queryset.annotate(
        health=Case(
            When(suspended, then=Value(Health.SUSPENDED.value)),
            When(failing, then=Value(Health.FAILING.value)),
            When(warning, then=Value(Health.WARNING.value)),
            When(not_tested, then=Value(Health.NOT_TESTED.value)),
            default=Value(Health.HEALTHY.value),
        )
    )


def health_counts(queryset: QuerySet[Mailbox]) -> dict[str, int]:
    """Return how many mailboxes of the queryset are in each health, in one
    grouped query."""
    counts = {health: 0 for health in Health.values}
    rows = (
        with_health(queryset).order_by().values_list("health").annotate(n=Count("id"))
    )
    for health, n in rows:
        counts[health] = n
    return counts


def _visible_profiles(request: HttpRequest | None) -> QuerySet[ServerProfile]:
    user: Any = getattr(request, "user", None)
    if user is None:
        return ServerProfile.objects.none()
    from alertcenter.access import is_admin

    if is_admin(user):
        return ServerProfile.objects.only("id", "name")
    mine = Q(owner=user) | Q(mailboxes__owner=user)
    return ServerProfile.objects.filter(mine).distinct().only("id", "name")


class MailboxFilterSet(django_filters.FilterSet):
    """Filter mailboxes (already limited to the user's) by health, processing
    state, profile and address."""

    health = django_filters.ChoiceFilter(
        choices=Health.choices, method="filter_health", empty_label="Any health"
    )
    processing_state = django_filters.ChoiceFilter(
        choices=ProcessingState.choices, empty_label="Any state"
    )
    profile = django_filters.ModelChoiceFilter(
        queryset=_visible_profiles, empty_label="Any profile"
    )
    q = django_filters.CharFilter(
        field_name="address", lookup_expr="icontains", label="Address"
    )

    class Meta:
        model = Mailbox
        fields: list[str] = []

    def filter_health(
        self, queryset: QuerySet[Mailbox], name: str, value: str
    ) -> QuerySet[Mailbox]:
        if "health" not in queryset.query.annotations:
            queryset = with_health(queryset)
        return queryset.filter(health=value)


def health_by_profile(queryset: QuerySet[Mailbox]) -> dict[int, dict[str, int]]:
    """Return {profile id: {health: count}} for the mailboxes of the queryset,
    in one grouped query."""
    result: dict[int, dict[str, int]] = {}
    rows = (
        with_health(queryset)
        .order_by()
        .values_list("profile_id", "health")
        .annotate(n=Count("id"))
    )
    for profile_id, health, n in rows:
        result.setdefault(profile_id, {h: 0 for h in Health.values})[health] = n
    return result
