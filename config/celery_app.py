import os
from pathlib import Path

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("vitrine")
# Every CELERY_* Django setting configures Celery (config/settings/base.py).
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# Each worker says it is alive while it consumes: the admin warns when none is.
app.steps["consumer"].add("recommender.worker_heartbeat:Heartbeat")


def broker_description() -> str:
    """The broker in use, in words, for start-up messages (no password shown)."""
    if app.conf.broker_url.startswith("filesystem://"):
        folder = app.conf.broker_transport_options["data_folder_in"]
        return f"file-system broker in {folder} (no server needed; set CELERY_BROKER_URL for Redis)"
    return f"broker {app.connection().as_uri()}"


def ensure_broker_folders() -> None:
    """Kombu's file-system transport expects its folders to exist."""
    if app.conf.broker_url.startswith("filesystem://"):
        for key in ("data_folder_in", "data_folder_out", "control_folder", "processed_folder"):
            Path(app.conf.broker_transport_options[key]).mkdir(parents=True, exist_ok=True)


@app.on_after_configure.connect
def _prepare_broker(sender, **kwargs):
    ensure_broker_folders()
