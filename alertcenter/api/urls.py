from django.urls import path, re_path

from alertcenter.api import docs, token_views, views

app_name = "api"
urlpatterns = [
    path("v1/failures", views.FailuresView.as_view(), name="failures"),
    path("v1/sync-prompts", views.SyncPromptsView.as_view(), name="sync-prompts"),
    path("v1/alerts", views.AlertListView.as_view(), name="alerts"),
    path(
        "v1/alerts/delete-all",
        views.AlertDeleteAllView.as_view(),
        name="alerts-delete-all",
    ),
    path("v1/alerts/<int:pk>", views.AlertDetailView.as_view(), name="alert"),
    path("v1/mailboxes", views.MailboxListView.as_view(), name="mailboxes"),
    path("v1/mailboxes/<int:pk>", views.MailboxDetailView.as_view(), name="mailbox"),
    path(
        "v1/mailboxes/<int:pk>/test-and-enable",
        views.TestAndEnableView.as_view(),
        name="mailbox-test-and-enable",
    ),
    path("v1/profiles", views.ProfileListView.as_view(), name="profiles"),
    path("v1/profiles/<int:pk>", views.ProfileDetailView.as_view(), name="profile"),
    path("schema/", docs.SchemaView.as_view(), name="schema"),
    path("docs/", docs.api_docs, name="docs"),
    path("tokens/", token_views.tokens, name="tokens"),
    path("tokens/<int:pk>/revoke", token_views.revoke, name="token-revoke"),
    # Anything else under api/ answers in JSON too, not with the HTML 404 page.
    re_path(r"^v1/", views.not_found),
]
