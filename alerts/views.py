"""The alerts wall, an alert's page, deletes, sync decisions and settings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Exists, F, OuterRef, QuerySet, Value
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseRedirect,
    QueryDict,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from alertcenter.access import is_admin, is_ops
from alerts import funnel
from alerts.cards import Card, CardMaker
from alerts.choices import AuditAction, Level
from alerts.filters import (
    COUNT_CAP,
    AlertFilterSet,
    decode_cursor,
    encode_cursor,
    newest_first,
)
from alerts.forms import AlertSettingsForm
from alerts.models import Alert, AlertRecipient, AlertSettings, AuditEntry

PAGE_SIZE = 25
SECTION_SIZE = 10
AUDIT_ROWS = 50
LEVEL_BUTTONS = {
    Level.ERROR: "Errors",
    Level.WARNING: "Warnings",
    Level.INFORMATION: "Information",
}


def is_htmx(request: HttpRequest) -> bool:
    """Return whether htmx asked for a partial (not a history restore)."""
    return (
        request.headers.get("HX-Request") == "true"
        and request.headers.get("HX-History-Restore-Request") != "true"
    )


def wall_queryset(user: Any) -> QuerySet[Alert]:
    """Return the alerts the user may see, with what the wall shows of them
    fetched in the same query."""
    queryset = Alert.objects.visible_to(user).select_related(
        "mailbox", "profile", "email", "prompt"
    )
    if is_admin(user):
        return queryset
    if not is_ops(user):
        # Only the user's own live copies are visible: read the copy from the
        # join that visibility made, rather than look it up again per alert.
        return queryset.annotate(
            is_recipient=Value(True),
            action_required=F("recipients__action_required"),
        )
    copies = AlertRecipient.objects.filter(
        alert=OuterRef("pk"), user=user, deleted_at__isnull=True
    )
    return queryset.annotate(
        is_recipient=Exists(copies),
        action_required=Exists(copies.filter(action_required=True)),
    )


@dataclass
class AlertPage:
    """One page of alerts, their cards, the URL of the next page, and where
    the cards' forms send the user back to."""

    alerts: list[Alert]
    cards: list[Card]
    next_url: str
    wall_url: str
    return_to: str


def alert_page(
    request: HttpRequest,
    filterset: AlertFilterSet,
    cursor: tuple[Any, int] | None = None,
    size: int = PAGE_SIZE,
) -> AlertPage:
    """Return one page of the filtered alerts, fetching one row more to know
    whether another page follows."""
    rows = list(newest_first(filterset.qs, cursor)[: size + 1])
    wall = reverse("alerts:wall")
    next_url = ""
    if len(rows) > size:
        rows = rows[:size]
        next_url = f"{wall}?{filterset.query_string(after=encode_cursor(rows[-1]))}"
    return AlertPage(
        alerts=rows,
        cards=CardMaker(request.user).cards(rows),
        next_url=next_url,
        wall_url=f"{wall}?{filterset.query_string()}",
        return_to=request.get_full_path(),
    )


def alert_section(request: HttpRequest, **filters: object) -> dict[str, Any]:
    """Return the context of the Alerts section of a mailbox, profile or email
    page: the wall, filtered to that object."""
    data = QueryDict(mutable=True)
    data.update({name: str(value) for name, value in filters.items()})
    filterset = AlertFilterSet(
        data, queryset=wall_queryset(request.user), request=request
    )
    page = alert_page(request, filterset, size=SECTION_SIZE)
    return {"page": page, "section_filters": filterset}


@login_required
def wall(request: HttpRequest) -> HttpResponse:
    filterset = AlertFilterSet(
        request.GET, queryset=wall_queryset(request.user), request=request
    )
    cursor = None
    if request.GET.get("after"):
        try:
            cursor = decode_cursor(request.GET["after"])
        except ValueError:
            return HttpResponseBadRequest("The page cursor is not valid.")

    if not filterset.is_valid():
        wall_url = reverse("alerts:wall")
        page = AlertPage([], [], "", wall_url, request.get_full_path())
        status = 400
    else:
        page = alert_page(request, filterset, cursor)
        status = 200
    counts = filterset.level_counts() if cursor is None else {}
    context = {
        "filterset": filterset,
        "page": page,
        "level_buttons": [
            (level, LEVEL_BUTTONS[level], counts.get(level, 0)) for level in Level
        ],
        "count_cap": COUNT_CAP,
        "count_cap_label": f"{COUNT_CAP:,}+",
        "query": filterset.query_string(),
        "partial": is_htmx(request),
    }
    if is_htmx(request):
        template = "alerts/_rows.html" if cursor else "alerts/_results.html"
    else:
        template = "alerts/wall.html"
        choices = filterset.choice_lists()
        context["choices"] = choices
        context["profile_options"] = [
            (str(pk), name, pk == choices["profile_id"])
            for pk, name in choices["profiles"] or []
        ]
    response = render(request, template, context, status=status)
    patch_vary_headers(response, ["HX-Request"])
    return response


@login_required
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    alert = get_object_or_404(wall_queryset(request.user), pk=pk)
    context = {
        "alert": alert,
        "card": CardMaker(request.user, expanded=True).card(alert),
        "return_to": reverse("alerts:wall"),
    }
    return render(request, "alerts/detail.html", context)


def _acts_on(alert: Alert, user: Any) -> bool:
    """Return whether the user may resolve the alert or decide its prompt:
    admins, and the people of whom action is asked."""
    if is_admin(user):
        return True
    return AlertRecipient.objects.filter(
        alert=alert, user=user, action_required=True, deleted_at__isnull=True
    ).exists()


def _deletable(alerts: QuerySet[Alert], user: Any) -> QuerySet[Alert]:
    """Return the alerts a delete by this user takes off their wall: all for
    admins, else the user's own copies (ops see alerts they hold no copy of)."""
    if is_admin(user) or not is_ops(user):
        return alerts
    return alerts.filter(recipients__user=user, recipients__deleted_at__isnull=True)


def _back(request: HttpRequest) -> HttpResponseRedirect:
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = reverse("alerts:wall")
    return redirect(target)


@login_required
@require_POST
def delete(request: HttpRequest, pk: int) -> HttpResponse:
    alert = get_object_or_404(Alert.objects.visible_to(request.user), pk=pk)
    funnel.delete_alert(alert, request.user)

    if is_htmx(request):
        return HttpResponse("")
    messages.success(request, "The alert was deleted.")
    return _back(request)


@login_required
@require_POST
def resolve(request: HttpRequest, pk: int) -> HttpResponse:
    alert = get_object_or_404(Alert.objects.visible_to(request.user), pk=pk)
    if not _acts_on(alert, request.user):
        raise PermissionDenied("Only admins and the people asked to act resolve.")
    funnel.resolve_alert(alert, request.user)

    messages.success(request, "The alert was marked resolved.")
    return _back(request)


@login_required
def delete_all(request: HttpRequest) -> HttpResponse:
    """Ask how many alerts will go (GET), then delete them (POST): the alerts
    the user sees under the filters they chose."""
    source = request.POST if request.method == "POST" else request.GET
    alerts = _deletable(Alert.objects.visible_to(request.user), request.user)
    filterset = AlertFilterSet(source, queryset=alerts, request=request)
    if not filterset.is_valid():
        return render(
            request, "alerts/delete_all.html", {"filterset": filterset}, status=400
        )
    query = filterset.query_string()

    if request.method == "POST":
        deleted = funnel.delete_alerts(filterset.qs, request.user)
        messages.success(request, f"Deleted {deleted} alerts.")
        return redirect(f"{reverse('alerts:wall')}?{query}")

    params = [(name, value) for name, value in QueryDict(query).items()]
    context = {
        "filterset": filterset,
        "count": filterset.qs.count(),
        "params": params,
        "query": query,
    }
    return render(request, "alerts/delete_all.html", context)


@login_required
@require_POST
def decide(request: HttpRequest, pk: int) -> HttpResponse:
    """Record the owner's choice on a sync prompt."""
    alert = get_object_or_404(
        Alert.objects.visible_to(request.user).select_related("prompt"), pk=pk
    )
    prompt = getattr(alert, "prompt", None)
    if prompt is None:
        return HttpResponseBadRequest("This alert asks for no decision.")
    if not _acts_on(alert, request.user):
        raise PermissionDenied("Only the mailbox owner or an admin decides.")
    choice = request.POST.get("choice", "")
    if prompt.decision or choice not in [str(c) for c in prompt.choices]:
        return HttpResponseBadRequest("That choice is not offered.")

    funnel.decide_sync_prompt(prompt, choice, request.user)
    messages.success(request, "Your decision was recorded.")
    return _back(request)


@login_required
def settings_page(request: HttpRequest) -> HttpResponse:
    if not is_ops(request.user):
        raise PermissionDenied("Only ops and admins change the alert settings.")
    current = AlertSettings.load()
    form = AlertSettingsForm(request.POST or None, instance=current)

    if request.method == "POST" and form.is_valid():
        changes = form.changes()
        form.save()
        if changes:
            AuditEntry.record(
                request.user, AuditAction.SETTINGS, "alert settings", changes=changes
            )
            messages.success(request, "The settings were saved.")
        else:
            messages.info(request, "Nothing changed.")
        return redirect("alerts:settings")

    audit = AuditEntry.objects.select_related("actor")[:AUDIT_ROWS]
    return render(
        request,
        "alerts/settings.html",
        {"form": form, "audit": audit, "settings_row": current},
        status=400 if form.errors else 200,
    )
