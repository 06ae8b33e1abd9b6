from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from alertcenter import views
from alertcenter.api import health, metrics

urlpatterns = [
    # Pages of the web console.
    path("", include("alerts.urls")),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("mailboxes/", include("mailboxes.urls")),
    path("profiles/", include("serverprofiles.urls")),
    # The HTTP API and the operations endpoints.
    path("api/", include("alertcenter.api.urls")),
    path("healthz", health.healthz, name="healthz"),
    path("metrics", metrics.MetricsView.as_view(), name="metrics"),
    # Accounts and the Django admin.
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
]
