from django.apps import AppConfig


class AlertcenterConfig(AppConfig):
    name = "alertcenter"
    verbose_name = "alertcenter"

    def ready(self) -> None:
        from alertcenter import checks  # noqa: F401
