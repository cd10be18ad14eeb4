"""Benchmark: the same 12-field resident request served three ways, over HTTP, in one run.

    .venv/bin/python bench/forms_http.py [--rounds 5] [--concurrency 8] [--requests 200] [--seconds 5]

  linli   — a LinliFormPage (cms/models.py) serving a published Linli form (JSON Schema, one
            wizard step, anonymous) through the formtools session wizard; a valid POST is checked
            against the schema and stored as a Submission with a reference number, and starts
            the form's flow (flow instance, the start state's 5-working-day timer and its queued task);
  wagtail — a SimpleFormPage: Wagtail's built-in form builder (wagtail.contrib.forms) with the
            same 12 fields; a valid POST stores a Wagtail FormSubmission;
  bare    — /bare/ (bench/bench_urls.py): a plain Django Form and template, the ceiling; a valid
            POST stores a Wagtail FormSubmission too.

Everything runs against a temporary SQLite database (WAL) and a temporary definitions folder,
behind `gunicorn -w 2` (sync workers) on 127.0.0.1 with DEBUG off. The loader is this script:
threads with http.client, `--concurrency` connections at once, a new connection per request
(sync workers close it). Each round measures the GETs of all three, then their POSTs, the
contenders taking turns in slices of --slice requests (the order rotates every round):
  GET  — the form page for a new visitor (no cookies), `--requests` requests or `--seconds`;
  POST — a valid submission. Every POST needs its own form first (CSRF token and cookie; for
         Linli the page's signed `linli_token` — one-step forms for visitors keep no session —
         or, for a multi-step form, the session and the wizard's `<prefix>-current_step`): those GETs are made
         before the timed phase, so only the POSTs are timed. A POST counts only if it returns
         the thank-you page; the rows stored are counted before and after and must match
         (for Linli: as many submissions, flow instances, timers and queued timer tasks).
Besides req/s and p95 latency it reads the CPU time gunicorn's workers used per request
(/proc), which other load on the machine disturbs far less than throughput. Prints medians
over rounds, the Linli/Wagtail ratios, and the in-process time of server-side validation
(engine.forms.validation.validate) per submission. Stops gunicorn whatever happens; starts
no new round after --budget seconds. --setup-only leaves a database to profile against.
Figures go in docs/performance.md.
"""

import argparse
import http.client
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

COMMUNITY = "benchville"
FORM_KEY = "resident-request"
THANKS = 'class="form-page done"'

CATEGORIES = [("environment", "环境卫生"), ("facilities", "设施维修（水电路灯、管网）"), ("safety", "治安与安全隐患"),
              ("neighbour_dispute", "邻里纠纷"), ("property_service", "物业服务"), ("elderly_disabled", "为老助残"),
              ("policy", "政策咨询"), ("other", "其他")]
URGENCIES = ["一般", "较急", "紧急"]
CONTACT = [("phone", "打电话"), ("visit", "上门面谈"), ("grid_group", "楼栋网格群")]

# The 12-field resident request as a Linli form: one step (no x-ui steps), open to anyone.
SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "民情直通车",
    "description": "有困难、有诉求、有建议，都可以在这里提交。",
    "type": "object",
    "properties": {
        "category": {"title": "诉求类别", "type": "string",
                     "oneOf": [{"const": key, "title": title} for key, title in CATEGORIES]},
        "subject": {"title": "诉求标题", "type": "string", "minLength": 4, "maxLength": 40,
                    "x-error": {"minLength": "标题请至少写4个字"}},
        "details": {"title": "具体情况", "type": "string", "minLength": 10, "maxLength": 1000},
        "urgency": {"title": "紧急程度", "type": "string", "enum": URGENCIES},
        "occurred_on": {"title": "发生日期", "type": "string", "format": "date"},
        "household_size": {"title": "家庭人数", "type": "integer", "minimum": 1, "maximum": 20},
        "contact_name": {"title": "联系人", "type": "string", "minLength": 1, "maxLength": 20},
        "mobile": {"title": "联系电话", "type": "string", "pattern": "^1[3-9][0-9]{9}$",
                   "x-error": {"pattern": {"zh-hans": "请输入11位手机号码", "en": "Enter an 11-digit mobile number"}}},
        "email": {"title": "电子邮箱", "type": "string", "format": "email", "maxLength": 254},
        "room": {"title": "门牌号", "type": "string", "minLength": 1, "maxLength": 20},
        "contact_preference": {"title": "希望怎样联系您", "type": "string",
                               "oneOf": [{"const": key, "title": title} for key, title in CONTACT]},
        "publicity_consent": {"title": "同意在办理结果公示中展示本诉求", "type": "boolean", "default": False},
    },
    "required": ["category", "subject", "details", "urgency", "occurred_on", "household_size", "contact_name",
                 "mobile", "room", "contact_preference"],
    "additionalProperties": False,
    "x-ui": {
        "anonymous": True,
        "reference_prefix": "BQ",
        "submit_label": "提交诉求",
        "success_message": "已收到您的诉求，网格长会尽快联系您。",
        "fields": {"details": {"widget": "textarea", "rows": 5}, "urgency": {"widget": "radio"},
                   "contact_preference": {"widget": "radio"}, "mobile": {"widget": "tel"}},
    },
}

# Its flow, so that a submission starts it (flow instance, the start state's timer and its task).
FLOW = """\
flow: resident-request
title: 民情直通车
description: 网格长受理并指定承办人；5个工作日未受理自动提请社区党委书记督办。
form: resident-request
start: collected

states:
  collected:
    title: 已收集
    due: 5wd
    on_timeout: escalate
  in_progress:
    title: 办理中
  escalated:
    title: 逾期督办
  answered:
    title: 已答复
    final: true
  declined:
    title: 不予受理
    final: true

transitions:
  - name: accept
    title: 受理
    from: collected
    to: in_progress
    by:
      role: grid_leader
    input:
      assignee:
        type: person
        title: 承办人
        required: true
    actions:
      - assign:
          to: input.assignee
      - notify:
          to: assignee
          message: 您有一条新的民情诉求待办理。
  - name: decline
    title: 不予受理
    from: collected
    to: declined
    by:
      role: grid_leader
    comment: required
  - name: escalate
    title: 逾期提请督办
    from: collected
    to: escalated
    by: timer
    actions:
      - notify:
          to:
            role: community_secretary
          message: 一条民情诉求超过5个工作日未受理，请督办。
  - name: reply
    title: 答复
    from:
      - in_progress
      - escalated
    to: answered
    by:
      any_of:
        - assignee
        - role: community_secretary
    comment: required
    actions:
      - notify:
          to: submitter
          message: 您的诉求已答复，请查看处理意见。
"""

# One valid submission, by field name: JSON for in-process validation, and what a browser posts.
VALID = {
    "category": "facilities", "subject": "3号楼楼道灯坏了", "details": "3号楼2单元楼道灯坏了一个星期，晚上很黑，老人上下楼不方便。",
    "urgency": "较急", "occurred_on": "2026-05-01", "household_size": 3, "contact_name": "张明",
    "mobile": "13812345678", "email": "zhangming@example.com", "room": "2单元301", "contact_preference": "phone",
    "publicity_consent": True,
}

# The same 12 fields in Wagtail's form builder (label, field_type, required, choices).
WAGTAIL_FIELDS = [
    ("诉求类别", "dropdown", True, "\n".join(t for _, t in CATEGORIES)),
    ("诉求标题", "singleline", True, ""),
    ("具体情况", "multiline", True, ""),
    ("紧急程度", "radio", True, "\n".join(URGENCIES)),
    ("发生日期", "date", True, ""),
    ("家庭人数", "number", True, ""),
    ("联系人", "singleline", True, ""),
    ("联系电话", "singleline", True, ""),
    ("电子邮箱", "email", False, ""),
    ("门牌号", "singleline", True, ""),
    ("希望怎样联系您", "radio", True, "\n".join(t for _, t in CONTACT)),
    ("同意在办理结果公示中展示本诉求", "checkbox", False, ""),
]


def browser_values(choice_labels):
    """VALID as posted: choices by value for Linli and /bare/, by label for Wagtail's builder."""
    values = {k: str(v) for k, v in VALID.items() if k != "publicity_consent"}
    values["publicity_consent"] = "on"
    if choice_labels:
        values["category"] = dict(CATEGORIES)[VALID["category"]]
        values["contact_preference"] = dict(CONTACT)[VALID["contact_preference"]]
    return values


# ---------------------------------------------------------------- set-up (in this process)


def write_definitions(work: Path):
    forms, flows = work / "forms_schemas", work / "workflows_yaml"
    (forms / COMMUNITY).mkdir(parents=True)
    (flows / COMMUNITY).mkdir(parents=True)
    shutil.copytree(ROOT / "forms_schemas" / "_shared", forms / "_shared")
    (forms / COMMUNITY / f"{FORM_KEY}.schema.json").write_text(json.dumps(SCHEMA, ensure_ascii=False, indent=2),
                                                                 encoding="utf-8")
    template = (ROOT / "workflows_yaml" / "_template" / "community.yaml").read_text(encoding="utf-8")
    community = re.sub(r"^community: \S+", f"community: {COMMUNITY}", template, count=1, flags=re.M)
    (flows / COMMUNITY / "community.yaml").write_text(community, encoding="utf-8")
    (flows / COMMUNITY / f"{FORM_KEY}.flow.yaml").write_text(FLOW, encoding="utf-8")
    return forms, flows


def set_up_site():
    """Check and load the definitions, then the three pages. Returns what the loader needs."""
    import io

    from django.conf import settings
    from django.core.management import call_command
    from wagtail.models import Site

    from cms.models import LinliFormPage, SimpleFormField, SimpleFormPage
    from engine.definitions.pipeline import check_paths
    from engine.models import Definition

    call_command("migrate", verbosity=0)
    checked = check_paths([], settings.LINLI_FORMS_DIR, settings.LINLI_WORKFLOWS_DIR)
    assert checked.ok, "\n".join(p.render("en") for p in checked.problems)
    out = io.StringIO()
    call_command("load_definitions", stdout=out)
    form = Definition.objects.get(community__slug=COMMUNITY, key=FORM_KEY, kind="form")
    assert form.live_version is not None, out.getvalue()

    home = Site.objects.get(is_default_site=True).root_page.specific
    linli = home.add_child(instance=LinliFormPage(title="民情直通车 (Linli)", slug="linli-request", form=form,
                                                  thank_you="<p>已收到您的诉求。</p>"))
    wagtail = SimpleFormPage(title="民情直通车 (Wagtail)", slug="wagtail-request", thank_you="<p>已收到您的诉求。</p>")
    for order, (label, kind, required, choices) in enumerate(WAGTAIL_FIELDS):
        wagtail.form_fields.add(SimpleFormField(sort_order=order, label=label, field_type=kind, required=required,
                                                choices=choices))
    home.add_child(instance=wagtail)
    clean_names = [f.clean_name for f in SimpleFormPage.objects.get(pk=wagtail.pk).form_fields.all()]
    assert len(set(clean_names)) == 12, clean_names
    return {"home": home, "linli": linli, "wagtail": wagtail, "form": form, "wagtail_names": clean_names}


def row_counters(site):
    """Rows each contender's POST stores. Linli's is the submission; its flow instance, the start
    state's timer and that timer's queued task must come with it (checked alike)."""
    from wagtail.contrib.forms.models import FormSubmission

    from django_tasks_db.models import DBTaskResult

    from engine.models import FlowInstance, Submission, Timer

    def linli():
        counts = {Submission.objects.filter(form=site["form"]).count(),
                  FlowInstance.objects.filter(submission__form=site["form"]).count(),
                  Timer.objects.filter(instance__submission__form=site["form"]).count(),
                  DBTaskResult.objects.filter(task_path="engine.workflow.tasks.fire_timers").count()}
        return counts.pop() if len(counts) == 1 else -1  # -1: a submission without its flow, timer or task

    return {
        "linli": linli,
        "wagtail": lambda: FormSubmission.objects.filter(page_id=site["wagtail"].pk).count(),
        "bare": lambda: FormSubmission.objects.filter(page_id=site["home"].pk).count(),
    }


def validation_times(form, runs):
    """Median per submission, in µs: validate() alone, and the whole form clean of the wizard step."""
    from django.http import QueryDict
    from django.utils import translation

    from engine.forms.django_forms import form_class
    from engine.forms.registry import community_choices, form_spec
    from engine.forms.validation import validate

    translation.activate("zh-hans")
    spec = form_spec(form.live_version)
    data = dict(VALID)
    assert validate(spec, data) == [], validate(spec, data)
    for _ in range(50):
        validate(spec, data)
    alone = []
    for _ in range(runs):
        started = time.perf_counter_ns()
        validate(spec, data)
        alone.append(time.perf_counter_ns() - started)
    form_cls = form_class(spec, spec.steps[0].key, community_choices(form.community, "zh-hans"), "zh-hans")
    query = QueryDict(mutable=True)
    for name, value in browser_values(False).items():
        query[f"form-{name}"] = value
    whole = []
    for _ in range(runs // 4):
        started = time.perf_counter_ns()
        bound = form_cls(query, prefix="form")
        ok = bound.is_valid()
        whole.append(time.perf_counter_ns() - started)
        assert ok, bound.errors
    return statistics.median(alone) / 1000, statistics.median(whole) / 1000


# ---------------------------------------------------------------- the loader


class Cookies:
    def __init__(self):
        self.jar = {}

    def take(self, response):
        for header, value in response.getheaders():
            if header.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                self.jar[name.strip()] = rest.split(";", 1)[0]

    def header(self):
        return "; ".join(f"{k}={v}" for k, v in self.jar.items())


def request(port, method, path, body=None, cookies=None, timeout=30):
    """One request on a new connection (gunicorn's sync workers close it after each response)."""
    headers = {"Host": f"127.0.0.1:{port}", "User-Agent": "linli-bench"}
    if cookies is not None and cookies.jar:
        headers["Cookie"] = cookies.header()
    if body is not None:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
        headers["Origin"] = f"http://127.0.0.1:{port}"
        headers["Referer"] = f"http://127.0.0.1:{port}{path}"
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        started = time.perf_counter()
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        content = response.read()
        elapsed = time.perf_counter() - started
    finally:
        connection.close()
    if cookies is not None:
        cookies.take(response)
    return response.status, content.decode("utf-8", "replace"), elapsed


def run_concurrently(jobs, concurrency, seconds):
    """Run callables (each returns (ok, latency)) on `concurrency` threads until done or time is up.
    Returns (latencies of the ok ones, failures, wall seconds, jobs not started)."""
    lock = threading.Lock()
    pending = list(reversed(jobs))
    latencies, failures = [], []
    deadline = time.perf_counter() + seconds

    def worker():
        while True:
            with lock:
                if not pending or time.perf_counter() > deadline:
                    return
                job = pending.pop()
            try:
                ok, latency, detail = job()
            except Exception as error:  # noqa: BLE001 - a failed request is counted, not fatal
                ok, latency, detail = False, 0.0, repr(error)
            with lock:
                (latencies.append(latency) if ok else failures.append(detail))

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(concurrency)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(seconds + 60)
    return latencies, failures, time.perf_counter() - started, len(pending)


CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
STEP = re.compile(r'name="([^"]+-current_step)" value="([^"]*)"')
TOKEN = re.compile(r'name="linli_token" value="([^"]+)"')


class Contender:
    def __init__(self, name, path, fields):
        self.name, self.path, self.fields = name, path, fields  # fields: what to post, by input name

    def get_job(self, port):
        def job():
            status, html, elapsed = request(port, "GET", self.path)
            ok = status == 200 and "csrfmiddlewaretoken" in html
            return ok, elapsed, f"GET {status}"
        return job

    def prepare(self, port):
        """A fresh visitor's form: (cookies, body) ready to post."""
        cookies = Cookies()
        status, html, _ = request(port, "GET", self.path, cookies=cookies)
        if status != 200:
            raise RuntimeError(f"{self.name}: GET {self.path} answered {status}")
        data = {"csrfmiddlewaretoken": CSRF.search(html).group(1), **self.fields}
        step = STEP.search(html)
        token = TOKEN.search(html)
        if step:  # the wizard: its management form, and its step prefix on every field
            data[step.group(1)] = step.group(2)
            data = {(f"{step.group(2)}-{k}" if k in self.fields else k): v for k, v in data.items()}
        elif token:  # Linli's one-step page for visitors: the signed token, and the step prefix
            data = {(f"form-{k}" if k in self.fields else k): v for k, v in data.items()}
            data["linli_token"] = token.group(1)
        return cookies, urllib.parse.urlencode(data)

    def post_job(self, port, prepared):
        cookies, body = prepared

        def job():
            status, html, elapsed = request(port, "POST", self.path, body=body, cookies=cookies)
            ok = status == 200 and THANKS in html
            if self.name == "linli":
                ok = ok and re.search(r"data-reference>BQ\d{14}<", html) is not None
            return ok, elapsed, f"POST {status}: {_first_error(html)}"
        return job



def in_turns(order, pending, args, pid):
    """Run each contender's pending jobs in interleaved slices of `args.slice` requests
    (A B C A B C ...), each contender for at most `args.seconds`, so a burst of load from
    elsewhere hits all of them alike. Returns ({name: {lat, failed, wall, cpu, cpu_ok}}, loader
    CPU seconds, wall seconds); `cpu` is the server workers' CPU while that contender ran."""
    acc = {c.name: {"lat": [], "failed": [], "wall": 0.0, "cpu": 0.0, "cpu_ok": True} for c in order}
    loader_cpu = measured_wall = 0.0
    while True:
        active = [c for c in order if pending[c.name] and acc[c.name]["wall"] < args.seconds]
        if not active:
            break
        for contender in active:
            jobs, pending[contender.name] = pending[contender.name][:args.slice], pending[contender.name][args.slice:]
            cpu_before, times_before = worker_cpu(pid), os.times()
            lat, failed, wall, _ = run_concurrently(jobs, args.concurrency, args.seconds)
            cpu_after, times_after = worker_cpu(pid), os.times()
            loader_cpu += (times_after.user - times_before.user) + (times_after.system - times_before.system)
            measured_wall += wall
            into = acc[contender.name]
            into["lat"] += lat
            into["failed"] += failed
            into["wall"] += wall
            if cpu_before is None or cpu_after is None or cpu_after < cpu_before:
                into["cpu_ok"] = False  # a worker was restarted, or /proc unreadable
            else:
                into["cpu"] += cpu_after - cpu_before
    return acc, loader_cpu, measured_wall

def _first_error(html):
    found = re.search(r'class="error[^"]*"[^>]*>([^<]+)<', html) or re.search(r"<title>([^<]*)</title>", html)
    return found.group(1).strip()[:120] if found else html[:120]


def p95(values):
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]


# ---------------------------------------------------------------- gunicorn


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_gunicorn(port, env, log):
    command = [str(ROOT / ".venv" / "bin" / "gunicorn"), "config.wsgi", "-w", "2", "-k", "sync",
               "-b", f"127.0.0.1:{port}", "--chdir", str(ROOT), "--timeout", "60", "--log-level", "warning"]
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.time() + 30
    while time.time() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {process.returncode}; see {log.name}")
        try:
            status, _, _ = request(port, "GET", "/bare/", timeout=5)
            if status == 200:
                return process
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError("gunicorn did not answer within 30 s")


def worker_cpu(master_pid):
    """CPU seconds (user + system) used so far by gunicorn's workers (None if unreadable)."""
    try:
        children = Path(f"/proc/{master_pid}/task/{master_pid}/children").read_text().split()
        total = 0
        for pid in children:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
        return total / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def stop_gunicorn(process):
    if process is None or process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)  # its own session: the master and its two workers
        process.wait(15)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait(5)


# ---------------------------------------------------------------- main


def machine():
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{model or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--requests", type=int, default=200, help="requests per measurement (at most)")
    parser.add_argument("--seconds", type=float, default=5.0, help="time bound per measurement")
    parser.add_argument("--slice", type=int, default=40,
                        help="requests per slice: contenders take turns slice by slice within a measurement")
    parser.add_argument("--validation-runs", type=int, default=2000)
    parser.add_argument("--budget", type=float, default=200.0, help="start no new round after this many seconds")
    parser.add_argument("--setup-only", action="store_true",
                        help="set up the database and definitions, print where, and stop (for profiling)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (database, gunicorn log)")
    args = parser.parse_args()
    began = time.perf_counter()

    work = Path(tempfile.mkdtemp(prefix="linli-bench-forms-"))
    # a plain `kill` of this script still stops gunicorn (the finally below) and removes the folder
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        return run(args, work, began)
    finally:
        if args.keep or args.setup_only:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


def run(args, work, began):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bench.bench_settings",
        "DATABASE_URL": f"sqlite:///{work / 'bench.sqlite3'}",
        "DEBUG": "0",
        "ANONYMOUS_SUBMISSION_LIMIT": "0",  # the loader is one address sending hundreds of visitors' forms
        "SECRET_KEY": "linli-bench-not-secret-" + os.urandom(8).hex(),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "MEDIA_ROOT": str(work / "media"),
        "PRIVATE_MEDIA_ROOT": str(work / "private_media"),
        "TASKS_BACKEND": "database",  # the default: a timer enqueues its task as a row, as in production
        "PYTHONPATH": str(ROOT),
    }
    forms_dir, flows_dir = write_definitions(work / "defs")
    env.update({"LINLI_FORMS_DIR": str(forms_dir), "LINLI_WORKFLOWS_DIR": str(flows_dir)})
    os.environ.update(env)
    import django

    django.setup()
    from django.db import connection

    site = set_up_site()
    env["BENCH_BARE_PAGE_ID"] = str(site["home"].pk)
    counters = row_counters(site)
    validate_us, form_clean_us = validation_times(site["form"], args.validation_runs)
    connection.close()
    if args.setup_only:
        print(f"set up in {work}: DATABASE_URL={env['DATABASE_URL']} LINLI_FORMS_DIR={forms_dir} "
              f"LINLI_WORKFLOWS_DIR={flows_dir} BENCH_BARE_PAGE_ID={env['BENCH_BARE_PAGE_ID']}")
        return 0

    plain = browser_values(False)
    labelled = browser_values(True)
    contenders = [
        Contender("linli", site["linli"].get_url(), plain),
        # WAGTAIL_FIELDS are in the order of VALID: the i-th builder field takes the i-th value
        Contender("wagtail", site["wagtail"].get_url(), dict(zip(site["wagtail_names"], (labelled[k] for k in VALID)))),
        Contender("bare", "/bare/", plain),
    ]

    keys = ("get_rps", "get_p95", "get_cpu", "post_rps", "post_p95", "post_cpu")
    results = {c.name: {k: [] for k in keys} for c in contenders}
    problems = []
    loader_cpu, measured_wall = 0.0, 0.0
    log = open(work / "gunicorn.log", "w")
    process = None
    port = free_port()
    try:
        process = start_gunicorn(port, env, log)
        # warm up: every worker compiles its templates, forms and validators once
        for contender in contenders:
            run_concurrently([contender.get_job(port) for _ in range(20)], args.concurrency, 20)
            prepared = [contender.prepare(port) for _ in range(6)]
            run_concurrently([contender.post_job(port, p) for p in prepared], 2, 20)

        def measure(kind, jobs_for, round_number):
            """One phase of a round: every contender's jobs, run in interleaved slices of --slice
            requests (A B C A B C ...), so a burst of load from elsewhere hits all of them alike."""
            nonlocal loader_cpu, measured_wall
            order = contenders[round_number % 3:] + contenders[:round_number % 3]
            pending = {c.name: jobs_for(c) for c in order}
            acc, cpu, wall = in_turns(order, pending, args, process.pid)
            loader_cpu += cpu
            measured_wall += wall
            for name, into in acc.items():
                row, lat = results[name], into["lat"]
                row[f"{kind}_rps"].append(len(lat) / into["wall"] if into["wall"] else 0.0)
                row[f"{kind}_p95"].append(p95(lat) * 1000)
                row[f"{kind}_cpu"].append(into["cpu"] / len(lat) * 1000 if lat and into["cpu_ok"] else float("nan"))
                if into["failed"]:
                    problems.append(f"round {round_number + 1} {name} {kind.upper()}: {len(into['failed'])} failed, "
                                    f"e.g. {into['failed'][0]}")
            return {name: len(into["lat"]) for name, into in acc.items()}

        for round_number in range(args.rounds):
            if time.perf_counter() - began > args.budget:
                problems.append(f"time budget of {args.budget:g} s reached: {round_number} rounds measured")
                break
            measure("get", lambda c: [c.get_job(port) for _ in range(args.requests)], round_number)
            prepared = {c.name: run_prepare(c, port, args) for c in contenders}
            before = {c.name: counters[c.name]() for c in contenders}
            connection.close()
            posted = measure("post", lambda c: [c.post_job(port, p) for p in prepared[c.name]], round_number)
            for contender in contenders:
                after = counters[contender.name]()
                stored = after - before[contender.name] if after >= 0 and before[contender.name] >= 0 else "unmatched"
                if stored != posted[contender.name]:
                    problems.append(f"round {round_number + 1} {contender.name} POST: {posted[contender.name]} "
                                    f"thank-you pages but {stored} rows stored")
            connection.close()
            print(f"round {round_number + 1}: " + "   ".join(
                f"{c.name} GET {results[c.name]['get_rps'][-1]:.0f}/s POST {results[c.name]['post_rps'][-1]:.0f}/s"
                for c in contenders), flush=True)
    finally:
        stop_gunicorn(process)
        log.close()

    med = {name: {k: statistics.median(v) for k, v in values.items()} for name, values in results.items()}
    print()
    print(f"machine: {machine()}")
    print(f"gunicorn -w 2 (sync) on 127.0.0.1, SQLite WAL, DEBUG off; {args.concurrency} concurrent connections; "
          f"{args.rounds} rounds, at most {args.requests} requests or {args.seconds:g} s per measurement; medians")
    print()
    print("| page | GET req/s | GET p95 ms | GET server CPU ms/req | POST req/s | POST p95 ms | POST server CPU ms/req |")
    print("|---|---|---|---|---|---|---|")
    for name in ("linli", "wagtail", "bare"):
        m = med[name]
        print(f"| {name} | {m['get_rps']:.1f} | {m['get_p95']:.1f} | {m['get_cpu']:.1f} | {m['post_rps']:.1f} | "
              f"{m['post_p95']:.1f} | {m['post_cpu']:.1f} |")
    print()

    def ratio(kind, target):
        # Judged on the median of per-round ratios: within a round the two pages take turns every
        # --slice requests, so a burst of load from elsewhere on the machine hits both alike.
        per_round = [a / b for a, b in zip(results["linli"][f"{kind}_rps"], results["wagtail"][f"{kind}_rps"])]
        of_medians = med["linli"][f"{kind}_rps"] / med["wagtail"][f"{kind}_rps"]
        by_cpu = med["wagtail"][f"{kind}_cpu"] / med["linli"][f"{kind}_cpu"]
        verdict = "met" if statistics.median(per_round) >= target else "MISSED"
        print(f"Linli/Wagtail {kind.upper():4s} {statistics.median(per_round):.2f} x (target >= {target}) {verdict}: "
              f"median of per-round ratios (rounds: {', '.join(f'{r:.2f}' for r in per_round)}); "
              f"ratio of medians {of_medians:.2f}; by server CPU per request {by_cpu:.2f}")

    ratio("get", 1.0)
    ratio("post", 0.8)
    print(f"server-side validation: validate() {validate_us:.0f} µs median over {args.validation_runs} runs "
          f"(target < 1 ms) {'met' if validate_us < 1000 else 'MISSED'}; whole step form clean {form_clean_us:.0f} µs")
    print(f"Linli/bare GET {med['linli']['get_rps'] / med['bare']['get_rps']:.2f} x, "
          f"POST {med['linli']['post_rps'] / med['bare']['post_rps']:.2f} x")
    if problems:
        print("\nproblems:")
        for problem in problems:
            print("  " + problem)
    print(f"\nloader CPU: {loader_cpu:.1f} s over {measured_wall:.1f} s measured "
          f"({100 * loader_cpu / max(measured_wall, 1e-9):.0f} % of one core)")
    print(f"whole run {time.perf_counter() - began:.0f} s")
    return 1 if problems else 0


def run_prepare(contender, port, args):
    """The fresh GETs the POSTs need, made before the timed phase (on the same threads' budget)."""
    lock, prepared = threading.Lock(), []

    def job():
        started = time.perf_counter()
        item = contender.prepare(port)
        with lock:
            prepared.append(item)
        return True, time.perf_counter() - started, ""

    _, failed, _, _ = run_concurrently([job for _ in range(args.requests)], args.concurrency, args.seconds * 2)
    if failed:
        raise RuntimeError(f"{contender.name}: could not prepare forms: {failed[0]}")
    return prepared


if __name__ == "__main__":
    sys.exit(main())
