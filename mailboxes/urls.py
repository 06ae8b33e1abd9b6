from django.urls import path

from mailboxes import views

app_name = "mailboxes"
urlpatterns = [
    path("<int:pk>/", views.detail, name="detail"),
    path("emails/<int:pk>/", views.email_detail, name="email"),
]
