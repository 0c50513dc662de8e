"""A throwaway shop for benchmarks that need Django: a database created and dropped on the
configured server (as the test runner does), media in a temporary folder."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def throwaway_shop(prefix: str = "vitrine-bench-") -> Iterator[Path]:
    """Set Django up on a new, empty database; yields a work folder; drops the database."""
    work = Path(tempfile.mkdtemp(prefix=prefix))
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.test"
    os.environ["DJANGO_MEDIA_ROOT"] = str(work / "media")
    import django

    django.setup()
    from django.db import connection
    from django.test.utils import setup_test_environment

    setup_test_environment()
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        yield work
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
