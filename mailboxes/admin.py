from django.contrib import admin

from alertcenter.admin_forms import SecretFieldForm
from mailboxes.models import Email, Mailbox


@admin.register(Mailbox)
class MailboxAdmin(admin.ModelAdmin):
    form = SecretFieldForm
    list_display = [
        "address",
        "owner",
        "profile",
        "processing_state",
        "last_success_at",
    ]
    list_filter = ["processing_state", "profile"]
    search_fields = ["address"]
    exclude = ["fetch_state", "claimed_by", "claimed_until"]


@admin.register(Email)
class EmailAdmin(admin.ModelAdmin):
    list_display = [
        "subject",
        "mailbox",
        "direction",
        "status",
        "attempts",
        "created_at",
    ]
    list_filter = ["direction", "status"]
    search_fields = ["subject", "message_id"]
    exclude = ["raw"]
    raw_id_fields = ["mailbox"]
