from django.urls import path

from serverprofiles import views

app_name = "serverprofiles"
urlpatterns = [
    path("", views.profile_list, name="list"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/status/", views.status, name="status"),
    path("<int:pk>/test/", views.test, name="test"),
]
