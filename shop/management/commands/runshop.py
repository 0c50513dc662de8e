"""``manage.py runshop``: the whole shop on one machine, with one command.

Database ready and migrated, an admin user, a demo catalogue, a Celery worker and the web
server; Ctrl-C stops everything it started.
"""

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from tqdm import tqdm

from config import embedded_postgres
from config.celery_app import broker_description
from recommender.selectors import index_live
from recommender.services import enqueue, index_predates_preprocessing
from recommender.tasks import build_index
from shop.catalogue_formats import KaggleCatalogue
from shop.models import Product
from shop.sample_catalogue import write_sample_catalogue
from shop.services import catalogue_import, products_set_demo_prices

DEMO_STOCK = 10
STOP_GRACE_SECONDS = 15


class Command(BaseCommand):
    help = "Run the shop: database, migrations, admin user, demo catalogue, worker and web server."
    requires_system_checks = []  # runs `check` itself, after the database is up

    def add_arguments(self, parser):
        parser.add_argument(
            "--addrport", default=os.environ.get("VITRINE_ADDRPORT", "127.0.0.1:8000")
        )
        parser.add_argument("--no-demo", action="store_true", help="do not import a demo catalogue")

    def handle(self, *args, addrport, no_demo, **options):
        sys.stdout.reconfigure(line_buffering=True)  # progress shows up in logs as it happens
        host, _, port = addrport.rpartition(":")
        host = host or "127.0.0.1"
        if not port.isdigit():
            raise CommandError(f"--addrport wants HOST:PORT, got {addrport!r}")
        if not _port_free(host, int(port)):
            raise CommandError(f"{host}:{port} is already in use; pass --addrport HOST:PORT")

        self._database()
        call_command("check")
        call_command("migrate", interactive=False, verbosity=0)
        self.stdout.write("Database migrated.")
        credentials = self._admin_user()
        demo_imported = not no_demo and self._demo_catalogue()
        index = index_live()
        if index is None and Product.objects.exists():
            # Rails appear once the worker has built the first index; the shop starts meanwhile.
            enqueue(build_index)
            self.stdout.write("No similarity index yet: the worker is building the first one.")
        elif index is not None and index_predates_preprocessing(index):
            # An upgrade changed how photos are prepared: rails keep the old index meanwhile.
            enqueue(build_index)
            self.stdout.write(
                "The similarity index predates this version's photo preprocessing: the worker "
                "is rebuilding it (search by photo is back when it is done)."
            )

        # Explicitly: a process started in the background inherits SIGINT as ignored.
        signal.signal(signal.SIGINT, _raise_keyboard_interrupt)
        signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
        children: list[subprocess.Popen] = []
        helpers: list[subprocess.Popen] = []  # may end on their own
        try:
            self.stdout.write(f"Celery: {broker_description()}")
            children.append(
                _spawn(
                    [
                        sys.executable,
                        "-m",
                        "celery",
                        "-A",
                        "config.celery_app",
                        "worker",
                        "--beat",  # the periodic sweep; one process is enough on one machine
                        f"--schedule={Path(settings.VAR_DIR) / 'celerybeat-schedule'}",
                        "--loglevel=INFO",
                        "--concurrency=1",
                    ]
                )
            )
            # No autoreloader: one process, which stops cleanly with its parent's signal.
            children.append(
                _spawn([sys.executable, "manage.py", "runserver", "--noreload", f"{host}:{port}"])
            )
            _wait_for_port(host, int(port), children)
            url = f"http://{host}:{port}/"
            visitors = settings.SHOP_DEMO_SIMULATED_SHOPPERS
            if demo_imported and visitors and settings.EVENTS_ENABLED:
                # A little synthetic history, once the first index is live, so that the demo's
                # behaviour rails and Insights are not empty. Not watched: it ends by itself.
                simulate = ["simulate_shoppers", url, "--visitors", str(visitors)]
                simulate += ["--concurrency", "2", "--wait-for-index", "1800"]
                helpers.append(_spawn([sys.executable, "manage.py", *simulate]))
                self.stdout.write(
                    f"{visitors} simulated shoppers will visit once the index is built "
                    "(synthetic history for the demo; SHOP_DEMO_SIMULATED_SHOPPERS=0 turns it off)."
                )
            self.stdout.write(
                self.style.SUCCESS(
                    f"\nVitrine is running at {url}\n"
                    f"Admin: {url}admin/  user {credentials[0]!r}  password {credentials[1]}\n"
                    "Press Ctrl-C to stop.\n"
                )
            )
            _wait_for_any(children)
            raise CommandError("a process of the shop stopped unexpectedly; see its output above")
        except KeyboardInterrupt:
            self.stdout.write("\nStopping…")
        finally:
            _stop(helpers + children)
            if "DATA_DIR" in settings.DATABASES["default"]:
                # Children stopped by a signal never unregistered from the embedded server;
                # forget them so that it stops when this process exits.
                connection.close()
                embedded_postgres.forget_dead_processes(settings.DATABASES["default"]["DATA_DIR"])
        self.stdout.write("Stopped.")

    def _database(self):
        db = settings.DATABASES["default"]
        connection.ensure_connection()  # starts the embedded server if that is the one in use
        if "DATA_DIR" in db:
            self.stdout.write(f"Database: embedded PostgreSQL + pgvector in {db['DATA_DIR']}")
        else:
            self.stdout.write(f"Database: {db['NAME']} on {db.get('HOST') or 'local socket'}")

    def _admin_user(self) -> tuple[str, str]:
        """Admin credentials: from DJANGO_SUPERUSER_*, or generated once and kept in VAR_DIR."""
        username = os.environ.get("DJANGO_SUPERUSER_USERNAME", "admin")
        password = os.environ.get("DJANGO_SUPERUSER_PASSWORD")
        email = os.environ.get("DJANGO_SUPERUSER_EMAIL", "admin@example.com")
        saved = Path(settings.VAR_DIR) / "admin-password.txt"
        User = get_user_model()
        user = User.objects.filter(username=username).first()
        if user is None:
            password = password or secrets.token_urlsafe(12)
            User.objects.create_superuser(username=username, email=email, password=password)
            if "DJANGO_SUPERUSER_PASSWORD" not in os.environ:
                saved.parent.mkdir(parents=True, exist_ok=True)
                saved.write_text(password + "\n")
                saved.chmod(0o600)
            self.stdout.write(f"Created admin user {username!r}.")
        elif password:
            user.set_password(password)
            user.save(update_fields=["password"])
        elif saved.is_file():
            password = saved.read_text().strip()
        else:
            password = f"(unchanged; reset it with: python manage.py changepassword {username})"
        return username, password

    def _demo_catalogue(self) -> bool:
        """Import the demo catalogue into an empty shop; whether it did."""
        count = Product.objects.count()
        if count:
            self.stdout.write(f"Catalogue has {count} products; no demo import.")
            return False
        path = Path(settings.SHOP_DEMO_CATALOGUE)
        if not (path / "styles.csv").is_file():
            self.stdout.write(f"No demo catalogue at {path}; drawing a small sample catalogue.")
            path = write_sample_catalogue(Path(settings.VAR_DIR) / "sample-catalogue")
        self.stdout.write(f"Importing demo catalogue {path}")
        total = KaggleCatalogue.open(path).count_rows()
        with tqdm(total=total, unit="row", disable=not sys.stderr.isatty()) as bar:
            report = catalogue_import(path=path, default_stock=DEMO_STOCK, progress=bar.update)
        priced = products_set_demo_prices()
        self.stdout.write(f"Demo catalogue: {report}; demo prices given to {priced} products.")
        return True


def _raise_keyboard_interrupt(signum, frame):
    raise KeyboardInterrupt


def _spawn(command: list[str]) -> subprocess.Popen:
    # A session of its own: Ctrl-C reaches this process only, which then stops the children
    # in order instead of all of them dying at once.
    return subprocess.Popen(command, cwd=settings.BASE_DIR, start_new_session=True)


def _port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host.strip("[]"), port))
        except OSError:
            return False
    return True


def _wait_for_port(host: str, port: int, children, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(child.poll() is not None for child in children):
            raise CommandError("a process of the shop failed to start; see its output above")
        try:
            with socket.create_connection((host.strip("[]"), port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise CommandError(f"the web server did not start listening on {host}:{port} in {timeout} s")


def _wait_for_any(children) -> None:
    while all(child.poll() is None for child in children):
        time.sleep(0.5)


def _stop(children: list[subprocess.Popen]) -> None:
    """SIGTERM each child (a warm shutdown for Celery, which stops its own pool), then SIGKILL
    whatever is left of it and its descendants after a grace period.

    SIGTERM rather than SIGINT: a shell that starts a job in the background makes it ignore
    SIGINT, and the children would then outlive the grace period.
    """
    processes = []
    for child in children:
        with contextlib.suppress(psutil.NoSuchProcess):
            parent = psutil.Process(child.pid)
            processes += [parent, *parent.children(recursive=True)]
    for child in reversed(children):  # the web server first, then the worker
        with contextlib.suppress(ProcessLookupError):
            child.terminate()
    _, lingering = psutil.wait_procs(processes, timeout=STOP_GRACE_SECONDS)
    for process in lingering:
        with contextlib.suppress(psutil.NoSuchProcess):
            process.kill()
    psutil.wait_procs(lingering, timeout=5)
    for child in children:
        child.wait()
