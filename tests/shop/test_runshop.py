"""`manage.py runshop` (what `make run` calls): from an empty folder to a working shop, and back."""

import http.cookiejar
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import psutil
import pytest

from tests.process_output import ProcessOutput

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def processes_using(folder: Path) -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter(["cmdline", "environ"]):
        try:
            text = " ".join(process.info["cmdline"] or []) + str(process.info["environ"] or "")
        except psutil.Error:
            continue
        if str(folder) in text and process.pid != os.getpid():
            found.append(process)
    return found


def log_in(base: str, username: str, password: str) -> str:
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(f"{base}admin/login/").read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    form = urllib.parse.urlencode(
        {
            "csrfmiddlewaretoken": token,
            "username": username,
            "password": password,
            "next": "/admin/",
        }
    ).encode()
    return opener.open(f"{base}admin/login/", form).read().decode()


@pytest.mark.parametrize("started_in_background", [False, True])
def test_runshop_starts_everything_from_nothing_and_ctrl_c_stops_it_all(
    tmp_path, started_in_background
):
    port = free_port()
    env = {
        **os.environ,
        "VITRINE_VAR_DIR": str(tmp_path / "var"),
        "SHOP_DEMO_CATALOGUE": str(tmp_path / "no-such-catalogue"),
        "DJANGO_SETTINGS_MODULE": "config.settings.local",
        "SHOP_DEMO_SIMULATED_SHOPPERS": "4",
    }
    for name in ("DATABASE_URL", "CELERY_BROKER_URL", "DJANGO_SUPERUSER_PASSWORD"):
        env.pop(name, None)
    shop = subprocess.Popen(
        [sys.executable, "manage.py", "runshop", "--addrport", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        # `make run &` in a script: the shell starts the job with SIGINT ignored.
        preexec_fn=(lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
        if started_in_background
        else None,
    )
    output = ProcessOutput(shop)
    try:
        output.wait_for(r"drawing a small sample catalogue", 120)
        output.wait_for(r"Demo catalogue: 48 created", 120)
        output.wait_for(r"file-system broker", 60)
        output.wait_for(r"4 simulated shoppers will visit once the index is built", 120)
        base = output.wait_for(r"Vitrine is running at (\S+)", 120).group(1)
        credentials = output.wait_for(r"user '(\w+)'\s+password (\S+)", 5)

        home = urllib.request.urlopen(base).read().decode()
        assert "Vitrine Women Yellow Handbag" in home  # newest first
        photo = re.search(r'<img src="([^"]+)"', home).group(1)
        assert urllib.request.urlopen(urllib.parse.urljoin(base, photo)).status == 200
        assert "Site administration" in log_in(base, *credentials.groups())
        # Once the worker has built the first index, simulated shoppers give the demo a history.
        visits = output.wait_for(
            r"4 simulated visitors: (\d+) product views, (\d+) rail clicks", 300
        )
        assert int(visits.group(1)) >= 12 and int(visits.group(2)) > 0

        children = [p for p in psutil.Process(shop.pid).children(recursive=True)]
        assert any("celery" in " ".join(p.cmdline()) for p in children)
        assert processes_using(tmp_path / "var" / "postgres")  # the embedded server

        shop.send_signal(signal.SIGINT)  # what Ctrl-C sends
        assert shop.wait(timeout=90) == 0
        output.wait_for(r"^Stopped\.", 5)
        psutil.wait_procs(children, timeout=30)
        time.sleep(1)
        assert processes_using(tmp_path) == []
    finally:
        if shop.poll() is None:  # the test failed: leave no process behind
            leftovers = [shop_process := psutil.Process(shop.pid), *shop_process.children(True)]
            for process in leftovers:
                process.kill()
            psutil.wait_procs(leftovers, timeout=10)
