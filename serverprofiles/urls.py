from django.urls import path

from serverprofiles import views

app_name = "serverprofiles"
urlpatterns = [
    path("<int:pk>/", views.detail, name="detail"),
]
