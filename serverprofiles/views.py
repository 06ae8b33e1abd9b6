"""Server profile list and page, with Test connection and Test & Enable."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from alerts.views import alert_section, is_htmx
from mailboxes.choices import Health
from mailboxes.filters import health_by_profile, with_health
from mailboxes.models import Mailbox
from mailboxes.processing import request_profile_test
from serverprofiles.forms import ProfileTestForm
from serverprofiles.models import ServerProfile

NOT_WELL = (Health.FAILING, Health.SUSPENDED)


@login_required
def profile_list(request: HttpRequest) -> HttpResponse:
    profiles = list(
        ServerProfile.objects.visible_to(request.user).select_related("owner")
    )
    health = health_by_profile(Mailbox.objects.filter(profile__in=profiles))
    rows = []
    for profile in profiles:
        counts = health.get(profile.pk, {})
        rows.append(
            {
                "profile": profile,
                "mailboxes": sum(counts.values()),
                "failing": sum(counts.get(h, 0) for h in NOT_WELL),
                "warning": counts.get(Health.WARNING, 0),
            }
        )
    return render(request, "serverprofiles/list.html", {"rows": rows})


def _visible_profile(request: HttpRequest, pk: int) -> ServerProfile:
    queryset = ServerProfile.objects.visible_to(request.user).select_related("owner")
    return get_object_or_404(queryset, pk=pk)


def _status_panel(
    request: HttpRequest, profile: ServerProfile, since: str | None = None
) -> HttpResponse:
    """Answer htmx with the tests and mailboxes of the profile; once no test
    is pending, also with a fresh Alerts section (swapped out of band)."""
    context = _status_context(profile, since)
    if not context["pending"]:
        context.update(alert_section(request, profile=profile.pk), oob_alerts=True)
    return render(request, "serverprofiles/_status.html", context)


def _status_context(profile: ServerProfile, since: str | None = None) -> dict[str, Any]:
    """Return what the status panel shows; `since` is the mark of the last
    test result seen when a connection test was asked for."""
    mailboxes = list(
        with_health(profile.mailboxes.select_related("owner")).order_by("address")
    )
    testing = since is not None and since == _last_test_mark(profile)
    mailboxes_pending = any(m.test_requested_at for m in mailboxes)
    return {
        "profile": profile,
        "mailboxes": mailboxes,
        "testing": testing,
        "since": since if testing else None,
        "mailboxes_pending": mailboxes_pending,
        "pending": testing or mailboxes_pending,
    }


def _last_test_mark(profile: ServerProfile) -> str:
    """Return a mark of the profile's latest test result that the next result
    changes. It is not a clock, so the clocks of web and worker never meet."""
    return profile.tested_at.isoformat() if profile.tested_at else "never"


@login_required
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    profile = _visible_profile(request, pk)
    context = {**_status_context(profile), **alert_section(request, profile=pk)}
    return render(request, "serverprofiles/detail.html", context)


@login_required
def status(request: HttpRequest, pk: int) -> HttpResponse:
    """Return the test status and mailboxes of a profile; it polls itself
    while a test of its mailboxes, or one asked for `since`, is pending."""
    profile = _visible_profile(request, pk)
    return _status_panel(request, profile, request.GET.get("since"))


@login_required
@require_POST
def test(request: HttpRequest, pk: int) -> HttpResponse:
    """Queue a test of the profile's servers, or Test & Enable of all its
    mailboxes; htmx then polls until the profile's result changes."""
    managed = ServerProfile.objects.managed_by(request.user)
    profile = get_object_or_404(managed, pk=pk)
    form = ProfileTestForm(request.POST)
    if not form.is_valid():
        return HttpResponseBadRequest("The test request is not valid.")
    all_mailboxes = form.cleaned_data["all_mailboxes"]
    since = _last_test_mark(profile)
    request_profile_test(profile, request.user, all_mailboxes=all_mailboxes)

    if is_htmx(request):
        return _status_panel(request, _visible_profile(request, pk), since)
    if all_mailboxes:
        messages.info(request, "Test & Enable of every mailbox was queued.")
    else:
        messages.info(request, "The connection test was queued.")
    return redirect(profile)
