from django.urls import path

from alerts import views

app_name = "alerts"
urlpatterns = [
    path("", views.wall, name="wall"),
    path("alerts/delete-all/", views.delete_all, name="delete_all"),
    path("alerts/<int:pk>/", views.detail, name="detail"),
    path("alerts/<int:pk>/delete/", views.delete, name="delete"),
    path("alerts/<int:pk>/resolve/", views.resolve, name="resolve"),
    path("alerts/<int:pk>/decide/", views.decide, name="decide"),
    path("settings/", views.settings_page, name="settings"),
]
