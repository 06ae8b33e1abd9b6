from django.urls import path

from alerts import views

app_name = "alerts"
urlpatterns = [
    path("", views.wall, name="wall"),
    path("alerts/<int:pk>/", views.detail, name="detail"),
]
