from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from serverprofiles.models import ServerProfile


@login_required
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    profile = get_object_or_404(ServerProfile.objects.visible_to(request.user), pk=pk)
    return render(request, "serverprofiles/detail.html", {"profile": profile})
