from django.urls import path

from mailboxes import views

app_name = "mailboxes"
urlpatterns = [
    path("", views.mailbox_list, name="list"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/status/", views.status, name="status"),
    path("<int:pk>/test/", views.test_and_enable, name="test"),
    path("emails/<int:pk>/", views.email_detail, name="email"),
]
