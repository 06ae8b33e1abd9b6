from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from mailboxes.models import Email, Mailbox


@login_required
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    mailbox = get_object_or_404(Mailbox.objects.visible_to(request.user), pk=pk)
    return render(request, "mailboxes/detail.html", {"mailbox": mailbox})


@login_required
def email_detail(request: HttpRequest, pk: int) -> HttpResponse:
    email = get_object_or_404(Email.objects.visible_to(request.user), pk=pk)
    return render(request, "mailboxes/email.html", {"email": email})
