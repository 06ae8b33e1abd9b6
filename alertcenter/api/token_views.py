"""The page where a user manages their personal API tokens."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from alertcenter.api.auth import issue_token, revoke_token
from alerts.choices import AuditAction
from alerts.models import ApiToken, AuditEntry


class TokenForm(forms.Form):
    name = forms.CharField(
        max_length=100, help_text="What the token is for, e.g. 'postfix log shipper'."
    )


@login_required
def tokens(request: HttpRequest) -> HttpResponse:
    form = TokenForm(request.POST or None)
    raw = None
    if request.method == "POST" and form.is_valid():
        token, raw = issue_token(request.user, form.cleaned_data["name"])
        AuditEntry.record(request.user, AuditAction.TOKEN, token.name, created=token.pk)
        form = TokenForm()

    listed = ApiToken.objects.filter(user=request.user).order_by("-created_at")
    response = render(
        request, "api/tokens.html", {"form": form, "tokens": listed, "new_token": raw}
    )
    # The one answer that shows a new token must not be kept anywhere.
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def revoke(request: HttpRequest, pk: int) -> HttpResponse:
    token = get_object_or_404(ApiToken, pk=pk, user=request.user)
    if revoke_token(token):
        AuditEntry.record(request.user, AuditAction.TOKEN, token.name, revoked=token.pk)
        messages.success(request, f"Token {token.name} revoked.")
    return redirect("api:tokens")
