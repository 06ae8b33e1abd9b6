from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from alerts.models import Alert


@login_required
def wall(request: HttpRequest) -> HttpResponse:
    alerts = Alert.objects.visible_to(request.user)[:50]
    return render(request, "alerts/wall.html", {"alerts": alerts})


@login_required
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    alert = get_object_or_404(Alert.objects.visible_to(request.user), pk=pk)
    return render(request, "alerts/detail.html", {"alert": alert})
