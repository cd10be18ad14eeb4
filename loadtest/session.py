"""One run's surroundings: a work folder, the definitions, a throwaway database (built, or copied
from a template database), the Redis cache database, and Django configured in this process on
the same database, so the checks read what the server wrote.

    with Session(profile) as session:      # builds the city
        ...session.env, session.manifest, session.gunicorn(), session.task_worker()
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from . import dataset, stack
from .profile import Profile

ROOT = Path(__file__).resolve().parent.parent


class Session:
    def __init__(self, profile: Profile, *, template=None, database=None, keep=False, log=print,
                 private_media: Path | None = None):
        self.profile, self.template, self.keep, self.log = profile, template, keep, log
        self.database = database or f"linli_load_{os.getpid()}_{int(time.time()) % 100000}"
        self.work = Path(tempfile.mkdtemp(prefix="linli-load-"))
        self.private_media = private_media
        self.timings = {}
        self.manifest = None
        self.redis = None
        self.env = None
        self._made_database = False

    # ------------------------------------------------------------ set-up

    def __enter__(self):
        try:
            self.redis = stack.claim_redis()
            forms, flows = dataset.write_city(self.work, self.profile)
            stack.create_database(self.database, self.template)
            self._made_database = True
            url = stack.database_url(self.database)
            self.env = stack.environment(self.work, url, forms, flows, self.private_media)
            self._configure_django()
            if self.template is None:
                self.log(f"building the {self.profile.name} city in {self.database} ...")
                _, self.timings = dataset.build(self.profile, log=self.log)
                self.log(f"built in {self.timings['total']:.0f} s")
            self.manifest = dataset.manifest(self.profile)
            from django.db import connection

            connection.close()
            return self
        except BaseException:
            self.__exit__(None, None, None)
            raise

    def _configure_django(self):
        for key in ("DJANGO_SETTINGS_MODULE", "DATABASE_URL", "CONN_MAX_AGE", "CACHE_URL", "TASKS_BACKEND", "DEBUG",
                    "SECRET_KEY", "ALLOWED_HOSTS", "MEDIA_ROOT", "PRIVATE_MEDIA_ROOT", "LINLI_FORMS_DIR",
                    "LINLI_WORKFLOWS_DIR", "ANONYMOUS_SUBMISSION_LIMIT", "LOG_LEVEL"):
            os.environ[key] = self.env[key]
        # this process only reads and checks: no persistent connection across a PostgreSQL restart
        os.environ["CONN_MAX_AGE"] = "0"
        import django

        django.setup()

    def __exit__(self, *exc):
        try:
            from django.db import connections

            connections.close_all()
        except Exception:  # noqa: BLE001 - Django may not be set up yet
            pass
        if self._made_database and not self.keep:
            stack.drop_database(self.database)
        if self.redis is not None:
            try:
                self.redis.flushdb()
            except Exception:  # noqa: BLE001
                pass
        if self.keep:
            self.log(f"kept {self.work} and database {self.database}")
        else:
            shutil.rmtree(self.work, ignore_errors=True)
        return False

    # ------------------------------------------------------------ processes

    def gunicorn(self, env=None):
        p = self.profile
        return stack.Gunicorn(env or self.env, self.work / "gunicorn.log", workers=p.gunicorn_workers,
                              worker_class=p.worker_class, threads=p.threads)

    def task_worker(self, env=None):
        return stack.TaskWorker(env or self.env, self.work / "db_worker.log")

    def manage(self, *args, timeout=300):
        """`python manage.py ...` with the run's environment: (exit code, output)."""
        done = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=self.env, capture_output=True,
                              text=True, timeout=timeout)
        return done.returncode, (done.stdout + done.stderr).strip()

    def log_tail(self, name, lines=40):
        path = self.work / name
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def server_errors(self):
        """(path, exception) for each 500 gunicorn's workers logged with Django's traceback."""
        import re

        path = self.work / "gunicorn.log"
        if not path.exists():
            return []
        found = []
        blocks = path.read_text(errors="replace").split("Internal Server Error: ")[1:]
        exception = re.compile(r"^[A-Za-z_][\w.]*: ")
        for block in blocks:
            lines = block.splitlines()
            where = lines[0].strip() if lines else ""
            last = next((line for line in lines[1:] if exception.match(line) and not line.startswith("Traceback")), "")
            found.append((where, last.strip()[:300]))
        return found


def build_template(profile: Profile, name: str, log=print):
    """Build the city into database `name` and keep it (a template for Session(template=name))."""
    with Session(profile, database=name, keep=True, log=log) as session:
        timings = session.timings
    shutil.rmtree(session.work, ignore_errors=True)
    return timings
