"""The production stack on this machine: a throwaway PostgreSQL database, a spare Redis database,
gunicorn (DEBUG off) and `manage.py db_worker`, plus the blunt instruments of the fault tests.

Everything here stops, drops or unmounts what it started, whatever happens; nothing here touches
a database, a Redis database or a process it did not make.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from bench.forms_http import free_port, stop_gunicorn

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
GUNICORN = str(Path(PYTHON).with_name("gunicorn"))
GUNICORN_CONF = ROOT / "deploy" / "gunicorn.conf.py"

PG_ADMIN_URL = os.environ.get("LOADTEST_PG_URL", "postgres://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("LOADTEST_REDIS_URL", "redis://127.0.0.1:6379/7")
CONN_MAX_AGE = 60  # deploy/production.env.example's policy: each worker thread keeps its connection


class StackError(RuntimeError):
    pass


# ---------------------------------------------------------------- PostgreSQL


def pg_connect(dbname="postgres", autocommit=True, timeout=5):
    import psycopg

    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{dbname}"
    return psycopg.connect(url, autocommit=autocommit, connect_timeout=timeout)


def database_url(name):
    return PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


def pg_available():
    try:
        with pg_connect() as connection:
            connection.execute("SELECT 1")
        return True
    except Exception:  # noqa: BLE001 - any failure means "not here"
        return False


def create_database(name, template=None):
    if not re.fullmatch(r"[a-z0-9_]+", name) or (template and not re.fullmatch(r"[a-z0-9_]+", template)):
        raise StackError(f"unsafe database name {name!r}")
    with pg_connect() as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))


def drop_database(name):
    if not name.startswith(("linli_load_", "test_linli_load_")):
        raise StackError(f"refusing to drop {name!r}: not a load-test database")
    for attempt in range(30):  # PostgreSQL may be restarting (the fault test): wait for it
        try:
            with pg_connect() as connection:
                connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            return
        except Exception:  # noqa: BLE001
            time.sleep(1)
    raise StackError(f"could not drop {name}")


@contextlib.contextmanager
def throwaway_database(name, template=None, keep=False):
    create_database(name, template)
    try:
        yield database_url(name)
    finally:
        if not keep:
            drop_database(name)


def max_connections():
    with pg_connect() as connection:
        return int(connection.execute("SHOW max_connections").fetchone()[0])


def cpu_seconds(pid):
    """CPU seconds (user + system) process `pid` has used; None once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


class Sampler:
    """Every `interval` seconds, on its own connection (not counted): the connections to our
    database and to the whole server (pg_stat_activity), and the CPU time used so far by
    gunicorn's workers and by the PostgreSQL backends serving our database — per process, the
    last value seen, so a worker that gunicorn replaced still counts."""

    def __init__(self, dbname, interval=0.5):
        self.dbname, self.interval = dbname, interval
        self.samples: list[tuple[float, int, int]] = []  # (time, ours, server)
        self.errors = 0
        self.gunicorn = None  # a Gunicorn whose workers' CPU is sampled
        self._web, self._db = {}, {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(10)
        return False

    def _run(self):
        connection = None
        while not self._stop.is_set():
            try:
                if connection is None:
                    connection = pg_connect(timeout=2)
                rows = connection.execute(
                    "SELECT pid, datname FROM pg_stat_activity "
                    "WHERE pid <> pg_backend_pid() AND backend_type = 'client backend'").fetchall()
                ours = [pid for pid, name in rows if name == self.dbname]
                self.samples.append((time.monotonic(), len(ours), len(rows)))
                self._take(self._db, ours)
            except Exception:  # noqa: BLE001 - PostgreSQL restarting: try again
                self.errors += 1
                with contextlib.suppress(Exception):
                    connection.close()
                connection = None
            if self.gunicorn is not None:
                self._take(self._web, self.gunicorn.worker_pids())
            self._stop.wait(self.interval)
        with contextlib.suppress(Exception):
            connection.close()

    @staticmethod
    def _take(into, pids):
        for pid in pids:
            value = cpu_seconds(pid)
            if value is not None:
                into[pid] = value

    def cpu(self):
        """(gunicorn workers, PostgreSQL backends of our database): CPU seconds so far."""
        if self.gunicorn is not None:
            self._take(self._web, self.gunicorn.worker_pids())
        return sum(self._web.values()), sum(self._db.values())

    def peak(self):
        return max((s[1] for s in self.samples), default=0), max((s[2] for s in self.samples), default=0)


ConnectionSampler = Sampler


def pg_cluster():
    versions = sorted(os.listdir("/etc/postgresql")) if os.path.isdir("/etc/postgresql") else []
    return versions[-1] if versions else None


def can_restart_postgres():
    return os.geteuid() == 0 and pg_cluster() is not None and _which("pg_ctlcluster")


def _which(name):
    return any(os.access(os.path.join(p, name), os.X_OK) for p in os.environ.get("PATH", "").split(os.pathsep))


def restart_postgres():
    """`pg_ctlcluster --skip-systemctl-redirect <version> main restart` (fast shutdown: every
    connection is cut). Returns (seconds it took, output)."""
    started = time.monotonic()
    done = subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", pg_cluster(), "main", "restart"],
                          capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise StackError(f"pg_ctlcluster restart failed: {done.stdout}{done.stderr}")
    return time.monotonic() - started, done.stdout + done.stderr


def ensure_postgres_up(timeout=60):
    """After a restart, and always at the end of the fault test: PostgreSQL answers again."""
    deadline = time.monotonic() + timeout
    started = False
    while time.monotonic() < deadline:
        if pg_available():
            return True
        if not started and can_restart_postgres():
            subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", pg_cluster(), "main", "start"],
                           capture_output=True, text=True, timeout=120)
            started = True
        time.sleep(1)
    return pg_available()


# ---------------------------------------------------------------- Redis


def redis_client(url=REDIS_URL):
    import redis

    return redis.Redis.from_url(url, socket_timeout=5)


def claim_redis(url=REDIS_URL):
    """The cache's Redis database: it must answer and hold nothing but Django cache keys
    (`:<version>:<key>`); then it is flushed. Refuses otherwise."""
    import redis

    client = redis_client(url)
    try:
        foreign = [k for k in client.scan_iter(count=1000) if not re.match(rb":\d+:", k)]
    except redis.RedisError as error:
        raise StackError(f"Redis at {url} did not answer ({error})") from None
    if foreign:
        raise StackError(f"{url} holds keys that are not a Django cache's (e.g. {foreign[0]!r}): "
                         f"set LOADTEST_REDIS_URL to a spare database")
    client.flushdb()
    return client


def redis_available(url=REDIS_URL):
    try:
        return bool(redis_client(url).ping())
    except Exception:  # noqa: BLE001
        return False


# ---------------------------------------------------------------- the environment


def environment(work: Path, db_url: str, forms_dir: Path, flows_dir: Path, private_media: Path | None = None,
                **extra):
    """What every Linli process of the run gets: production-like settings on our database."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": db_url,
        "CONN_MAX_AGE": str(CONN_MAX_AGE),
        "CACHE_URL": REDIS_URL,
        "TASKS_BACKEND": "database",
        "DEBUG": "0",
        "SECRET_KEY": "linli-loadtest-not-secret-" + os.urandom(8).hex(),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "MEDIA_ROOT": str(work / "media"),
        "PRIVATE_MEDIA_ROOT": str(private_media or work / "private_media"),
        "LINLI_FORMS_DIR": str(forms_dir),
        "LINLI_WORKFLOWS_DIR": str(flows_dir),
        # every request of the loader comes from 127.0.0.1: the per-address limit on visitors'
        # submissions would stop the form comparison's anonymous POSTs after 20 (signed-in
        # residents, the load itself, are not limited)
        "ANONYMOUS_SUBMISSION_LIMIT": "0",
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
        **{k: str(v) for k, v in extra.items()},
    }


# ---------------------------------------------------------------- gunicorn


class Gunicorn:
    """gunicorn serving config.wsgi with deploy/gunicorn.conf.py (when present) and the worker
    model asked for: `sync` (one request per process) or `gthread` (threads per process)."""

    def __init__(self, env, log_path: Path, workers=2, worker_class="gthread", threads=4):
        self.env, self.log_path = env, log_path
        self.workers, self.worker_class, self.threads = workers, worker_class, threads
        self.port = free_port()
        self.process = None
        self._log = None

    @property
    def description(self):
        conf = "deploy/gunicorn.conf.py, " if GUNICORN_CONF.exists() else ""
        threads = f" × {self.threads} threads" if self.worker_class == "gthread" else ""
        return f"gunicorn ({conf}-w {self.workers} -k {self.worker_class}{threads})"

    def start(self, timeout=60):
        command = [GUNICORN]
        if GUNICORN_CONF.exists():
            command += ["-c", str(GUNICORN_CONF)]
        command += ["config.wsgi", "-b", f"127.0.0.1:{self.port}", "-w", str(self.workers), "-k", self.worker_class,
                    "--chdir", str(ROOT), "--timeout", "60", "--backlog", "2048",
                    "--access-logfile", "-", "--error-logfile", "-", "--log-level", "warning"]
        if self.worker_class == "gthread":
            command += ["--threads", str(self.threads)]
        env = {**self.env, "GUNICORN_CONTROL_SOCKET": ""}
        self._log = open(self.log_path, "a")
        self.process = subprocess.Popen(command, env=env, stdout=self._log, stderr=subprocess.STDOUT,
                                        start_new_session=True)
        deadline = time.monotonic() + timeout
        from .loader import call

        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise StackError(f"gunicorn exited with {self.process.returncode}; see {self.log_path}")
            try:
                if call(self.port, "GET", "/api/v1/forms/", timeout=5).status == 200 and \
                        len(self.worker_pids()) == self.workers:
                    return self
            except OSError:
                pass
            time.sleep(0.3)
        raise StackError(f"gunicorn did not answer within {timeout} s; see {self.log_path}")

    def worker_pids(self):
        if self.process is None:
            return []
        try:
            pid = self.process.pid
            return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
        except OSError:
            return []

    def kill_worker(self):
        """SIGKILL one worker (the master starts another). Returns its pid."""
        pids = self.worker_pids()
        if not pids:
            raise StackError("no gunicorn worker to kill")
        os.kill(pids[0], signal.SIGKILL)
        return pids[0]

    def stop(self):
        stop_gunicorn(self.process)
        if self._log:
            self._log.close()
            self._log = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False


# ---------------------------------------------------------------- the task worker


class TaskWorker:
    """`manage.py db_worker` (the database task backend's worker), polling every `interval` s."""

    def __init__(self, env, log_path: Path, interval=0.5):
        self.env, self.log_path, self.interval = env, log_path, interval
        self.process = None
        self.starts = 0

    def start(self):
        log = open(self.log_path, "a")
        self.process = subprocess.Popen(
            [PYTHON, "manage.py", "db_worker", "--interval", str(self.interval), "--no-startup-delay", "--no-reload",
             "--queue-name", "*", "-v", "1"],
            cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        self.starts += 1
        return self

    def alive(self):
        return self.process is not None and self.process.poll() is None

    def kill(self):
        """SIGKILL: no clean shutdown, the task it was running is left as it was."""
        if self.alive():
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def stop(self):
        if self.alive():
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False


# ---------------------------------------------------------------- a small disk


def can_mount():
    return os.geteuid() == 0 and _which("mount")


@contextlib.contextmanager
def tmpfs(path: Path, size="2m"):
    """A tmpfs of `size` at `path`, unmounted (and the folder removed) afterwards."""
    path.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True,
                          text=True)
    if done.returncode != 0:
        raise StackError(f"mount tmpfs failed: {done.stderr.strip()}")
    try:
        yield path
    finally:
        for attempt in range(10):
            if subprocess.run(["umount", str(path)], capture_output=True).returncode == 0:
                break
            time.sleep(0.5)
        with contextlib.suppress(OSError):
            path.rmdir()
