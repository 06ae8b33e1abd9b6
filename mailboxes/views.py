"""Mailbox list, mailbox page with Test & Enable, email page."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_POST

from alerts.views import alert_section, is_htmx
from mailboxes.filters import MailboxFilterSet, with_health
from mailboxes.models import Email, Mailbox
from mailboxes.processing import request_test_and_enable

LIST_SIZE = 50


@login_required
def mailbox_list(request: HttpRequest) -> HttpResponse:
    mailboxes = with_health(
        Mailbox.objects.visible_to(request.user).select_related("owner", "profile")
    )
    filterset = MailboxFilterSet(request.GET, queryset=mailboxes, request=request)
    page = Paginator(filterset.qs, LIST_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)

    context = {"filterset": filterset, "page": page, "query": query.urlencode()}
    template = "mailboxes/_table.html" if is_htmx(request) else "mailboxes/list.html"
    response = render(
        request, template, context, status=200 if filterset.is_valid() else 400
    )
    patch_vary_headers(response, ["HX-Request"])
    return response


def _visible_mailbox(request: HttpRequest, pk: int) -> Mailbox:
    queryset = with_health(
        Mailbox.objects.visible_to(request.user).select_related("owner", "profile")
    )
    return get_object_or_404(queryset, pk=pk)


@login_required
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    mailbox = _visible_mailbox(request, pk)
    context = {"mailbox": mailbox, **alert_section(request, mailbox=mailbox.pk)}
    return render(request, "mailboxes/detail.html", context)


def _status_panel(request: HttpRequest, mailbox: Mailbox) -> HttpResponse:
    """Answer htmx with the status panel; once no test is pending, also with
    a fresh Alerts section (swapped out of band) to show what the test found."""
    context: dict[str, object] = {"mailbox": mailbox}
    if not mailbox.test_requested_at:
        context.update(alert_section(request, mailbox=mailbox.pk), oob_alerts=True)
    return render(request, "mailboxes/_status.html", context)


@login_required
def status(request: HttpRequest, pk: int) -> HttpResponse:
    """Return the status panel of a mailbox, which polls itself while a test
    is pending."""
    return _status_panel(request, _visible_mailbox(request, pk))


@login_required
@require_POST
def test_and_enable(request: HttpRequest, pk: int) -> HttpResponse:
    """Queue Test & Enable of a mailbox; its page then polls for the result."""
    mailbox = get_object_or_404(Mailbox.objects.managed_by(request.user), pk=pk)
    request_test_and_enable(mailbox, request.user)

    if is_htmx(request):
        return _status_panel(request, _visible_mailbox(request, pk))
    messages.info(request, "Test & Enable was queued.")
    return redirect(mailbox)


@login_required
def email_detail(request: HttpRequest, pk: int) -> HttpResponse:
    email = get_object_or_404(
        Email.objects.visible_to(request.user).select_related("mailbox"), pk=pk
    )
    context = {"email": email, **alert_section(request, email=email.pk)}
    return render(request, "mailboxes/email.html", context)
