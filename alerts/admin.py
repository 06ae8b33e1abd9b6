from django.contrib import admin

from alerts.models import (
    Alert,
    AlertRecipient,
    AlertSettings,
    ApiToken,
    AuditEntry,
    FailureRecord,
    SyncPrompt,
)


class RecipientInline(admin.TabularInline):
    model = AlertRecipient
    extra = 0
    raw_id_fields = ["user"]


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    list_display = [
        "message",
        "level",
        "scope",
        "reason",
        "count",
        "last_seen",
        "state",
    ]
    list_filter = ["level", "scope", "persistence", "state"]
    search_fields = ["message", "detail"]
    raw_id_fields = ["profile", "mailbox", "email", "resolved_by"]
    inlines = [RecipientInline]


@admin.register(FailureRecord)
class FailureRecordAdmin(admin.ModelAdmin):
    list_display = ["stage", "source", "occurred_at", "processed_at"]
    list_filter = ["source", "stage"]
    raw_id_fields = ["profile", "mailbox", "email", "alert", "submitted_by"]


@admin.register(SyncPrompt)
class SyncPromptAdmin(admin.ModelAdmin):
    list_display = ["kind", "item", "decision", "decided_at"]
    raw_id_fields = ["alert", "decided_by"]


@admin.register(AlertSettings)
class AlertSettingsAdmin(admin.ModelAdmin):
    pass


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    list_display = ["at", "actor", "action", "target"]
    list_filter = ["action"]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["name", "user", "prefix", "created_at", "revoked_at"]
    readonly_fields = ["prefix", "digest"]
