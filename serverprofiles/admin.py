from django.contrib import admin

from alertcenter.admin_forms import SecretFieldForm
from serverprofiles.models import ServerProfile


@admin.register(ServerProfile)
class ServerProfileAdmin(admin.ModelAdmin):
    form = SecretFieldForm
    list_display = ["name", "owner", "incoming_host", "outgoing_host", "state"]
    list_filter = ["state", "incoming_protocol"]
    search_fields = ["name", "incoming_host", "outgoing_host"]
    readonly_fields = ["consecutive_failures", "failure_reason", "tested_at"]
