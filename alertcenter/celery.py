"""The Celery application of alertcenter."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "alertcenter.settings")

app = Celery("alertcenter")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_finalize.connect
def _ensure_broker_folders(sender: Celery, **kwargs: object) -> None:
    """Create the folders of the filesystem broker before anyone uses them."""
    options = sender.conf.broker_transport_options or {}
    for key in (
        "data_folder_in",
        "data_folder_out",
        "processed_folder",
        "control_folder",
    ):
        folder = options.get(key)
        if folder:
            os.makedirs(folder, exist_ok=True)
