"""`make prod-check`: the production setup, started on this machine and tried end to end.

What it starts, all with the environment of deploy/production.env.example (secrets and
machine-specific values replaced):

- a throwaway PostgreSQL database (created here, dropped at the end) — migrate, collectstatic,
  `check --deploy`, load_definitions, seed_demo;
- two spare Redis databases (found empty, flushed at the end): the cache and sessions, and the
  RQ task queue;
- two gunicorn instances (2 workers each) on two free loopback ports, and one RQ worker.

Then it plays a reverse proxy (every request says X-Forwarded-Proto: https) and checks, through
both instances: the home and a community page with their security headers, hashed static files
with far-future caching, a one-step form page (GET, then a valid anonymous POST), the API (token,
submission, reading it back), the admin login page, an admin session made on one instance used
on the other, a page published through one instance served fresh by every worker of the other
(the page cache and its purge live in the shared Redis), the sign-in limit counted across both
instances, and a task run by the worker. It exits 1 on the first failure and always stops what it started.

PostgreSQL (a superuser that may create databases) and Redis are found at PRODCHECK_PG_URL
(default postgres://postgres@127.0.0.1:5432/postgres) and PRODCHECK_REDIS_URL (default
redis://127.0.0.1:6379).
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlencode, urlsplit

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
GUNICORN = str(Path(PYTHON).with_name("gunicorn"))
PG_URL = os.environ.get("PRODCHECK_PG_URL", "postgres://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("PRODCHECK_REDIS_URL", "redis://127.0.0.1:6379").rstrip("/")
CLIENT_ADDRESS = "203.0.113.7"  # what the pretend proxy says the visitor's address is (TEST-NET-3)
FORM_KEY = "prodcheck-suggestion"  # an anonymous one-step form added to the demo for this check
FORM = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "意见箱（上线检查）",
    "type": "object",
    "required": ["topic", "message"],
    "properties": {
        "topic": {"title": "主题", "type": "string", "minLength": 2, "maxLength": 30},
        "message": {"title": "内容", "type": "string", "minLength": 5, "maxLength": 500},
    },
    "additionalProperties": False,
    "x-ui": {"anonymous": True, "reference_prefix": "PC"},
}


class CheckFailed(Exception):
    pass


def expect(condition, message):
    if not condition:
        raise CheckFailed(message)


# ---------------------------------------------------------------- reporting


class Report:
    def __init__(self):
        self.started = time.monotonic()
        self.passed = 0

    @contextlib.contextmanager
    def step(self, title):
        began = time.monotonic()
        try:
            yield
        except Exception as error:
            print(f"  FAIL  {title} ({time.monotonic() - began:.1f} s): {error}", flush=True)
            raise
        self.passed += 1
        print(f"  ok    {title} ({time.monotonic() - began:.1f} s)", flush=True)

    def elapsed(self):
        return time.monotonic() - self.started


# ---------------------------------------------------------------- HTTP through the pretend proxy


class Response:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    @property
    def text(self):
        return self.body.decode("utf-8", "replace")

    def json(self):
        return json.loads(self.body)

    def header(self, name):
        return self.headers.get(name.lower(), "")


class Client:
    """One browser (its own cookies) talking to one or the other gunicorn instance."""

    def __init__(self, address=CLIENT_ADDRESS):
        self.cookies = {}
        self.address = address

    def request(self, port, method, path, body=None, headers=None, https=True):
        sent = {"Host": f"127.0.0.1:{port}", "X-Forwarded-For": self.address, "Accept-Language": "zh-hans"}
        if https:
            sent["X-Forwarded-Proto"] = "https"
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        sent.update(headers or {})
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        try:
            connection.request(method, path, body=body, headers=sent)
            raw = connection.getresponse()
            body = raw.read()
            for cookie in raw.msg.get_all("Set-Cookie") or []:
                name, _, rest = cookie.partition("=")
                value = rest.split(";", 1)[0]
                if "max-age=0" in cookie.lower() or not value or value == '""':
                    self.cookies.pop(name.strip(), None)
                else:
                    self.cookies[name.strip()] = value
            headers = {k.lower(): v for k, v in raw.getheaders() if k.lower() != "set-cookie"}
            return Response(raw.status, headers, body)
        finally:
            connection.close()

    def get(self, port, path, **kwargs):
        return self.request(port, "GET", path, **kwargs)

    def post_form(self, port, path, fields, **kwargs):
        body = urlencode(fields).encode()
        headers = {"Content-Type": "application/x-www-form-urlencoded", "Origin": f"https://127.0.0.1:{port}",
                   "Referer": f"https://127.0.0.1:{port}{path}", **kwargs.pop("headers", {})}
        return self.request(port, "POST", path, body=body, headers=headers, **kwargs)

    def post_json(self, port, path, data, headers=None):
        return self.request(port, "POST", path, body=json.dumps(data).encode(),
                            headers={"Content-Type": "application/json", **(headers or {})})


class Forms(HTMLParser):
    """The forms of a page: their attributes and the (name, value) pairs a browser would send."""

    def __init__(self, html):
        super().__init__(convert_charrefs=True)
        self.forms, self._form, self._textarea, self._select, self._option = [], None, None, None, None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self._form = {"attrs": attrs, "fields": []}
            self.forms.append(self._form)
        elif self._form is None:
            return
        elif tag == "input" and attrs.get("name"):
            kind = attrs.get("type", "text").lower()
            if kind in ("submit", "button", "image", "reset", "file"):
                return
            if kind in ("checkbox", "radio") and "checked" not in attrs:
                return
            self._form["fields"].append((attrs["name"], attrs.get("value", "on" if kind == "checkbox" else "")))
        elif tag == "textarea" and attrs.get("name"):
            self._textarea = [attrs["name"], ""]
        elif tag == "select" and attrs.get("name"):
            self._select = {"name": attrs["name"], "chosen": None, "first": None}
        elif tag == "option" and self._select is not None:
            self._option = [attrs.get("value"), "", "selected" in attrs]

    def handle_data(self, data):
        if self._textarea is not None:
            self._textarea[1] += data
        if self._option is not None:
            self._option[1] += data

    def handle_endtag(self, tag):
        if tag == "textarea" and self._textarea is not None:
            self._form["fields"].append(tuple(self._textarea))
            self._textarea = None
        elif tag == "option" and self._option is not None:
            value = self._option[0] if self._option[0] is not None else self._option[1].strip()
            if self._option[2]:
                self._select["chosen"] = value
            if self._select["first"] is None:
                self._select["first"] = value
            self._option = None
        elif tag == "select" and self._select is not None:
            chosen = self._select["chosen"] if self._select["chosen"] is not None else self._select["first"]
            if chosen is not None:
                self._form["fields"].append((self._select["name"], chosen))
            self._select = None
        elif tag == "form":
            self._form = None

    def find(self, **attrs):
        for form in self.forms:
            if all(form["attrs"].get(k) == v for k, v in attrs.items()):
                return form
        raise CheckFailed(f"no form with {attrs} on the page")


def csrf_field(html):
    found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    expect(found, "the page has no CSRF token")
    return found.group(1)


# ---------------------------------------------------------------- the machine's services


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Services:
    """The throwaway database and Redis databases, and the processes: all undone by close()."""

    def __init__(self, workdir):
        self.workdir = workdir
        self.processes = []  # (name, Popen, log path)
        self.database = None
        self.redis_dbs = []
        self.pg_url = PG_URL

    # -- PostgreSQL

    def create_database(self):
        import psycopg

        name = f"linli_prodcheck_{secrets.token_hex(4)}"
        with psycopg.connect(self.pg_url, autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        self.database = name
        parts = urlsplit(self.pg_url)
        return parts._replace(path=f"/{name}").geturl()

    def drop_database(self):
        if self.database is None:
            return
        import psycopg

        try:
            with psycopg.connect(self.pg_url, autocommit=True) as connection:
                connection.execute(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')
        except psycopg.Error as error:
            raise CheckFailed(f"could not drop {self.database} (drop it by hand): {error}") from None
        self.database = None

    # -- Redis

    def claim_redis_dbs(self, count):
        """Spare Redis databases: empty ones, claimed with a marker key so that another run
        started at the same moment takes others. Highest numbers first (apps start at 0)."""
        import redis

        for number in range(15, 2, -1):
            client = redis.Redis.from_url(f"{REDIS_URL}/{number}")
            if client.dbsize() == 0 and client.set("linli:prodcheck:claimed", os.getpid(), nx=True):
                self.redis_dbs.append(number)
                if len(self.redis_dbs) == count:
                    return [f"{REDIS_URL}/{n}" for n in self.redis_dbs]
        raise CheckFailed(f"no {count} empty Redis databases at {REDIS_URL}")

    def flush_redis_dbs(self):
        import redis

        for number in self.redis_dbs:
            redis.Redis.from_url(f"{REDIS_URL}/{number}").flushdb()
        self.redis_dbs = []

    # -- processes

    def start(self, name, command, env):
        log = self.workdir / f"{name}.log"
        with open(log, "wb") as out:
            process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                       start_new_session=True)
        self.processes.append((name, process, log))
        return process

    def alive(self):
        return {name: process.poll() is None for name, process, _ in self.processes}

    def stop_processes(self):
        for _, process, _ in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)  # gunicorn's master stops its workers
        deadline = time.monotonic() + 20
        for _, process, _ in self.processes:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        stopped = [name for name, _, _ in self.processes]
        self.processes = []
        return stopped

    def log_tails(self, lines=25):
        for name, _, log in self.processes:
            text = log.read_text(errors="replace").splitlines()[-lines:] if log.exists() else []
            print(f"--- last lines of {name}'s log ---")
            print("\n".join(text))

    def close(self):
        problems = []
        for undo in (self.stop_processes, self.drop_database, self.flush_redis_dbs):
            try:
                undo()
            except Exception as error:  # noqa: BLE001 - report every clean-up problem, go on with the rest
                problems.append(f"{undo.__name__}: {error}")
        return problems


def read_env_example():
    values = {}
    for line in (ROOT / "deploy" / "production.env.example").read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


def manage(env, *args, timeout=600):
    done = subprocess.run([PYTHON, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout)
    if done.returncode != 0:
        raise CheckFailed(f"manage.py {' '.join(args)} exited {done.returncode}:\n{done.stdout[-2000:]}{done.stderr[-3000:]}")
    return done.stdout


def wait_until_up(port, process, seconds=60):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        expect(process.poll() is None, f"gunicorn on port {port} exited with {process.returncode}")
        with contextlib.suppress(OSError):
            if Client().get(port, "/").status in (200, 301, 302):
                return
        time.sleep(0.3)
    raise CheckFailed(f"gunicorn on port {port} did not answer within {seconds} s")


# ---------------------------------------------------------------- the checks


def check_headers(response, admin=False):
    csp = response.header("Content-Security-Policy")
    expect(csp, "no Content-Security-Policy header")
    script = re.search(r"script-src ([^;]*)", csp).group(1)
    expect(("'unsafe-inline'" in script) == admin, f"unexpected script-src: {script}")
    expect(response.header("X-Frame-Options") == "DENY", f"X-Frame-Options {response.header('X-Frame-Options')!r}")
    expect(response.header("X-Content-Type-Options") == "nosniff", "no X-Content-Type-Options: nosniff")
    expect(response.header("Referrer-Policy") == "same-origin", f"Referrer-Policy {response.header('Referrer-Policy')!r}")
    hsts = response.header("Strict-Transport-Security")
    expect("max-age=31536000" in hsts and "includeSubDomains" in hsts, f"Strict-Transport-Security {hsts!r}")


def run_checks(report, services, env, ports):
    a, b = ports
    anon = Client()

    with report.step("plain HTTP is redirected to HTTPS"):
        response = anon.get(a, "/", https=False)
        expect(response.status == 301 and response.header("Location").startswith("https://"),
               f"{response.status} {response.header('Location')!r}")

    with report.step("home page through both instances, with the security headers (each of 8 times: "
                     "a miss, hits by Django, then answers before Django)"):
        for port in ports:
            for _ in range(8):
                response = anon.get(port, "/")
                expect(response.status == 200, f"port {port}: {response.status}")
                check_headers(response)
        home = response.text

    with report.step("a community page through both instances"):
        link = re.search(r'href="(/(?:[\w-]+/)*minyue/)"', home)
        expect(link, "the home page links to no community page")
        community_url = link.group(1)
        for port in ports:
            response = anon.get(port, community_url)
            expect(response.status == 200 and "民悦" in response.text, f"port {port}: {response.status}")

    with report.step("static files: hashed names, far-future caching, through both instances"):
        css = re.search(r'href="(/static/linli/site\.[0-9a-f]{12}\.css)"', home)
        expect(css, "the home page links no hashed site.css (STATIC_MANIFEST)")
        for port in ports:
            response = anon.get(port, css.group(1))
            max_age = re.search(r"max-age=(\d+)", response.header("Cache-Control"))
            expect(response.status == 200 and max_age and int(max_age.group(1)) >= 31_536_000,
                   f"port {port}: {response.status}, Cache-Control {response.header('Cache-Control')!r}")

    with report.step("a one-step form page: GET through one instance, a valid anonymous POST through the other"):
        visitor = Client(address="198.51.100.23")
        page = visitor.get(a, f"/minyue-{FORM_KEY}/")
        expect(page.status == 200 and 'name="linli_token"' in page.text, f"GET: {page.status}")
        check_headers(page)
        fields = dict(Forms(page.text).find(method="post")["fields"])
        fields.update({"form-topic": "路灯", "form-message": "三号楼前的路灯不亮了"})
        done = visitor.post_form(b, f"/minyue-{FORM_KEY}/", fields)
        expect(done.status == 200 and re.search(r"PC[-\w]*\d", done.text), f"POST: {done.status}: {done.text[:300]}")

    with report.step("API: a token through one instance, a submission and reading it back through the other"):
        response = anon.post_json(a, "/api/v1/auth/token/", {"username": "minyue-resident", "password": "linli-demo"})
        expect(response.status == 200 and response.json().get("token"), f"token: {response.status} {response.text[:200]}")
        auth = {"Authorization": f"Token {response.json()['token']}"}
        created = anon.post_json(b, f"/api/v1/forms/minyue/{FORM_KEY}/submissions/",
                                 {"topic": "绿化", "message": "中心花园的草坪需要修剪"}, headers=auth)
        expect(created.status == 201 and {"id", "state", "form_version"} <= set(created.json()),
               f"submission: {created.status} {created.text[:300]}")
        check_headers(created)
        read = anon.request(a, "GET", f"/api/v1/submissions/{created.json()['id']}/", headers=auth)
        expect(read.status == 200 and read.json()["data"]["topic"] == "绿化", f"read back: {read.status}")

    with report.step("admin login page through both instances, under the admin's policy"):
        for port in ports:
            response = anon.get(port, "/admin/login/")
            expect(response.status == 200 and 'name="password"' in response.text, f"port {port}: {response.status}")
            check_headers(response, admin=True)

    admin = Client(address="192.0.2.10")
    with report.step("admin signs in through one instance; the session works on the other"):
        login = admin.get(a, "/admin/login/")
        signed = admin.post_form(a, "/admin/login/", {"csrfmiddlewaretoken": csrf_field(login.text),
                                                      "username": "admin", "password": "linli-demo", "next": "/admin/"})
        expect(signed.status == 302, f"sign-in: {signed.status}: {signed.text[:300]}")
        dashboard = admin.get(b, "/admin/")
        expect(dashboard.status == 200 and "wagtail" in dashboard.text.lower(), f"dashboard on the other: {dashboard.status}")

    with report.step("a page published through one instance is served fresh by every worker of the other "
                     "(shared cache, purge pushed)"):
        first, again = anon.get(b, community_url), anon.get(b, community_url)
        expect(again.header("X-Linli-Cache") == "hit", f"second GET was not a cache hit: {again.header('X-Linli-Cache')!r}")
        for _ in range(8):  # every worker of b holds the page and its purge markers, and knows the request
            anon.get(b, community_url)
        expect(anon.get(a, community_url).header("X-Linli-Cache") == "hit", "the other instance did not share the cached page")
        page_id = env["PRODCHECK_PAGE_ID"]
        edit = admin.get(a, f"/admin/pages/{page_id}/edit/")
        expect(edit.status == 200, f"edit page: {edit.status}")
        fields = Forms(edit.text).find(id="page-edit-form")["fields"]
        title = f"民悦社区 上线检查 {secrets.token_hex(3)}"
        fields = [(k, title if k == "title" else v) for k, v in fields] + [("action-publish", "action-publish")]
        published = admin.request(a, "POST", f"/admin/pages/{page_id}/edit/", body=urlencode(fields).encode(),
                                  headers={"Content-Type": "application/x-www-form-urlencoded",
                                           "Origin": f"https://127.0.0.1:{a}"})
        expect(published.status == 302, f"publish: {published.status}: {re.findall(r'error-message[^<]*<[^>]*>([^<]+)', published.text)[:5]}")
        fresh = anon.get(b, community_url)
        expect(fresh.status == 200 and title in fresh.text, "the other instance served the old page")
        expect(fresh.header("X-Linli-Cache") == "miss", f"X-Linli-Cache {fresh.header('X-Linli-Cache')!r}")
        for _ in range(8):
            again = anon.get(b, community_url)
            expect(again.status == 200 and title in again.text, "a worker of the other instance served the old page")

    limit = int(env["LOGIN_FAILURE_LIMIT"])
    with report.step(f"sign-in limit shared by both instances: {limit} failures, then 429"):
        guesser = Client(address="203.0.113.99")
        for attempt in range(limit):
            wrong = guesser.post_json(ports[attempt % 2], "/api/v1/auth/token/",
                                      {"username": "minyue-secretary", "password": f"guess-{attempt}"})
            expect(wrong.status == 400, f"failure {attempt + 1}: {wrong.status}")
        refused = guesser.post_json(b, "/api/v1/auth/token/", {"username": "minyue-secretary", "password": "linli-demo"})
        expect(refused.status == 429 and refused.header("Retry-After") and "" in refused.json().get("errors", {}),
               f"API: {refused.status} {refused.text[:200]}")
        login = guesser.get(a, "/admin/login/")
        page = guesser.post_form(a, "/admin/login/", {"csrfmiddlewaretoken": csrf_field(login.text),
                                                      "username": "minyue-secretary", "password": "linli-demo"})
        expect(page.status == 429 and "登录尝试次数过多" in page.text, f"admin login: {page.status}")

    with report.step("a task queued through Django's Tasks runs on the RQ worker"):
        script = ("import json, time\nfrom engine.workflow.tasks import fire_timers\nresult = fire_timers.enqueue()\n"
                  "for _ in range(150):\n    result.refresh()\n    if result.status in ('SUCCESSFUL', 'FAILED'): break\n"
                  "    time.sleep(0.2)\nprint(json.dumps({'status': str(result.status), 'backend': result.backend}))")
        out = manage(env, "shell", "--no-imports", "-c", script).strip().splitlines()[-1]
        expect(json.loads(out)["status"].endswith("SUCCESSFUL"), f"task: {out}")

    with report.step("every process still running"):
        alive = services.alive()
        expect(all(alive.values()), f"stopped: {[n for n, up in alive.items() if not up]}")


def main():
    report = Report()
    print("prod-check: the production setup on this machine (PostgreSQL, Redis, 2 x gunicorn, RQ worker)", flush=True)
    workdir = Path(tempfile.mkdtemp(prefix="linli-prodcheck-"))
    services = Services(workdir)
    failed = False
    interrupted = []

    def on_signal(number, frame):
        interrupted.append(number)
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    try:
        with report.step("throwaway PostgreSQL database and spare Redis databases"):
            database_url = services.create_database()
            cache_url, tasks_url = services.claim_redis_dbs(2)
            print(f"        database {services.database}, Redis databases {services.redis_dbs}", flush=True)
            definitions = workdir / "definitions"
            shutil.copytree(ROOT / "forms_schemas", definitions / "forms_schemas")
            shutil.copytree(ROOT / "workflows_yaml", definitions / "workflows_yaml")
            (definitions / "forms_schemas" / "minyue" / f"{FORM_KEY}.schema.json").write_text(
                json.dumps(FORM, ensure_ascii=False, indent=2), encoding="utf-8")
        env = {**os.environ, **read_env_example()}
        env.update({
            "DATABASE_URL": database_url, "CACHE_URL": cache_url, "TASKS_REDIS_URL": tasks_url,
            "SECRET_KEY": secrets.token_urlsafe(64), "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "CSRF_TRUSTED_ORIGINS": "", "WAGTAILADMIN_BASE_URL": "https://127.0.0.1",
            "STATIC_ROOT": str(workdir / "static"), "MEDIA_ROOT": str(workdir / "media"),
            "PRIVATE_MEDIA_ROOT": str(workdir / "private_media"),
            "LINLI_FORMS_DIR": str(definitions / "forms_schemas"),
            "LINLI_WORKFLOWS_DIR": str(definitions / "workflows_yaml"),
            "EMAIL_HOST": "127.0.0.1", "EMAIL_PORT": str(free_port()),  # nothing listens: mail fails quietly
            "WEB_CONCURRENCY": "2", "LOG_LEVEL": "WARNING", "GUNICORN_LOG_LEVEL": "warning",
            "PYTHONUNBUFFERED": "1",
        })
        env.pop("DJANGO_SETTINGS_MODULE", None)
        for title, args in [("migrate", ["migrate", "--no-input"]),
                            ("collectstatic", ["collectstatic", "--no-input", "-v", "0"]),
                            ("check --deploy: no issues", ["check", "--deploy", "--fail-level", "WARNING"]),
                            ("load_definitions", ["load_definitions", "--note", "prod-check"]),
                            ("seed_demo", ["seed_demo"])]:
            with report.step(title):
                manage(env, *args)
        env["PRODCHECK_PAGE_ID"] = manage(
            env, "shell", "--no-imports", "-c",
            "from cms.models import HomePage; print(HomePage.objects.get(community__slug='minyue').pk)").split()[-1]

        ports = (free_port(), free_port())
        with report.step(f"two gunicorn instances (2 workers each) on ports {ports[0]} and {ports[1]}, one RQ worker"):
            for n, port in enumerate(ports):
                process = services.start(f"gunicorn-{n + 1}", [GUNICORN, "-c", "deploy/gunicorn.conf.py", "config.wsgi"],
                                         {**env, "GUNICORN_BIND": f"127.0.0.1:{port}"})
            services.start("rq-worker", [PYTHON, "manage.py", "rqworker", "default", "--with-scheduler",
                                         "--job-class", "django_tasks_rq.Job"], env)
            for (_, process, _), port in zip(services.processes, ports):
                wait_until_up(port, process)

        run_checks(report, services, env, ports)
    except (CheckFailed, Exception) as error:
        failed = True
        if not isinstance(error, CheckFailed):
            print(f"  error: {type(error).__name__}: {error}", flush=True)
        services.log_tails()
    except KeyboardInterrupt:
        failed = True
        print("  interrupted", flush=True)
    finally:
        problems = services.close()
        shutil.rmtree(workdir, ignore_errors=True)
        print(f"  stopped the processes, dropped the database, flushed the Redis databases"
              + (f" — with problems: {problems}" if problems else ""), flush=True)
    verdict = "FAILED" if failed or problems else "passed"
    print(f"prod-check {verdict}: {report.passed} checks passed in {report.elapsed():.1f} s", flush=True)
    return 1 if failed or problems or interrupted else 0


if __name__ == "__main__":
    sys.exit(main())
