import os
from pathlib import Path

from celery import Celery
from celery.signals import worker_init

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


@worker_init.connect
def _share_cores_among_processes(sender, **kwargs):
    """Each process of a worker runs the image model on its share of the cores. Celery's
    Django fixup, connected first, has set Django up by now."""
    from recommender.encoding import encoder_threads_share

    pool = getattr(sender.pool_cls, "__module__", str(sender.pool_cls))  # a class or its alias
    if "solo" in pool:
        return
    concurrency = sender.concurrency  # "auto" is resolved later: about one per core
    encoder_threads_share(processes=concurrency if isinstance(concurrency, int) else os.cpu_count())


@app.on_after_configure.connect
def _prepare_broker(sender, **kwargs):
    ensure_broker_folders()
