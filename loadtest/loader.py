"""The loader: requests sent at the times the profile says (open loop), on a pool of threads.

Each request is made on a new connection with `http.client`, as bench/forms_http.py does. A job
is scheduled for a moment; when it starts late (every thread busy) the lateness is counted in
its latency, so an overloaded server cannot hide behind a loader that slowed down with it
(coordinated omission). Both are kept: `latency` from the scheduled moment, `service` from the
moment the request was sent.
"""

from __future__ import annotations

import heapq
import http.client
import io
import json
import random
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field


@dataclass
class Reply:
    status: int
    headers: dict
    body: bytes
    elapsed: float

    def json(self):
        try:
            return json.loads(self.body)
        except ValueError:
            return None


def call(port, method, path, *, json_body=None, files=None, fields=None, headers=None, timeout=30) -> Reply:
    """One request on a new connection. JSON with `json_body`; multipart with `files`
    ({name: (filename, bytes, content type)}) and `fields`."""
    sent = {"Host": f"127.0.0.1:{port}", "User-Agent": "linli-loadtest", "Connection": "close", **(headers or {})}
    body = None
    if json_body is not None:
        body = json.dumps(json_body, ensure_ascii=False).encode()
        sent["Content-Type"] = "application/json"
    elif files is not None:
        body, sent["Content-Type"] = multipart(files, fields or {})
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        started = time.perf_counter()
        connection.request(method, path, body=body, headers=sent)
        response = connection.getresponse()
        content = response.read()
        elapsed = time.perf_counter() - started
    finally:
        connection.close()
    return Reply(response.status, {k.lower(): v for k, v in response.getheaders()}, content, elapsed)


def multipart(files, fields):
    boundary = uuid.uuid4().hex
    out = io.BytesIO()
    for name, value in fields.items():
        out.write(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    for name, (filename, raw, content_type) in files.items():
        out.write(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                  f"Content-Type: {content_type}\r\n\r\n".encode())
        out.write(raw)
        out.write(b"\r\n")
    out.write(f"--{boundary}--\r\n".encode())
    return out.getvalue(), f"multipart/form-data; boundary={boundary}"


# ---------------------------------------------------------------- records


@dataclass
class Record:
    kind: str  # page, upload, submit, analyse, dispatch, leaderboard, balance, inbox, ...
    phase: str
    scheduled: float  # monotonic seconds
    started: float
    ended: float
    status: int  # 0: no HTTP answer (connection refused, reset, timeout)
    error: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def latency(self):
        return self.ended - self.scheduled

    @property
    def service(self):
        return self.ended - self.started

    @property
    def ok(self):
        return 200 <= self.status < 300


class Recorder:
    def __init__(self):
        self.records: list[Record] = []
        self._lock = threading.Lock()

    def add(self, record):
        with self._lock:
            self.records.append(record)

    def timed(self, kind, phase, scheduled, port, method, path, note=None, **kwargs):
        """Make a request and record it; returns the Reply (None when there was no answer).
        `note(reply)` may add to the record's `extra`."""
        started = time.monotonic()
        try:
            reply = call(port, method, path, **kwargs)
        except (OSError, http.client.HTTPException) as error:
            self.add(Record(kind, phase, scheduled, started, time.monotonic(), 0, f"{type(error).__name__}: {error}"))
            return None
        record = Record(kind, phase, scheduled, started, time.monotonic(), reply.status)
        if reply.status >= 400:
            record.error = reply.body[:300].decode("utf-8", "replace")
        if note is not None:
            record.extra.update(note(reply))
        self.add(record)
        return reply


# ---------------------------------------------------------------- scheduling


def arrivals(rate_at, start, end, rng):
    """Poisson arrival times in [start, end) for a rate that varies with time (thinning)."""
    peak = max(rate_at(start + i * 0.1) for i in range(int((end - start) * 10) + 1))
    if peak <= 0:
        return []
    times, t = [], start
    while True:
        t += rng.expovariate(peak)
        if t >= end:
            return times
        if rng.random() * peak <= rate_at(t):
            times.append(t)


def bursty(burst, base, burst_seconds, period, offset=0.0):
    """A rate of `burst` for `burst_seconds` of every `period` seconds, `base` otherwise."""
    def rate(t):
        return burst if (t - offset) % period < burst_seconds else base
    return rate


def steady(value):
    return lambda t: value


class OpenLoop:
    """Runs jobs at given moments on `threads` threads. A job is `fn(scheduled)`; its `kind` and
    `phase` attributes name it. A job that could not start within `give_up` seconds of its moment
    is not sent — its user gave up — and is recorded as such (status -1): an overloaded run ends
    when its phases end, and what was not served counts against it."""

    def __init__(self, threads, recorder: Recorder | None = None, give_up=30.0):
        self.pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="loader")
        self.recorder, self.give_up = recorder, give_up
        self.late = 0  # jobs that started more than 100 ms after their moment
        self.gave_up = 0
        self.stopping = threading.Event()
        self._lock = threading.Lock()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close(cancel=exc[0] is not None)
        return False

    def run(self, schedule, until):
        """`schedule`: [(moment, fn)], moments in monotonic seconds. Blocks until `until` and all
        jobs started by then have finished."""
        heap = [(t, n, fn) for n, (t, fn) in enumerate(schedule)]
        heapq.heapify(heap)
        futures = []
        while heap and not self.stopping.is_set():
            t, _, fn = heapq.heappop(heap)
            if t >= until:
                break
            delay = t - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            futures.append(self.pool.submit(self._wrap, fn, t))
        for future in futures:
            future.result()

    def _wrap(self, fn, scheduled):
        late = time.monotonic() - scheduled
        if self.stopping.is_set():
            return
        if late > 0.1:
            with self._lock:
                self.late += 1
        if late > self.give_up:
            with self._lock:
                self.gave_up += 1
            if self.recorder is not None:
                now = time.monotonic()
                self.recorder.add(Record(getattr(fn, "kind", "?"), getattr(fn, "phase", "?"), scheduled, now, now, -1,
                                         f"not sent: could not start within {self.give_up:g} s"))
            return
        try:
            fn(scheduled)
        except Exception:  # noqa: BLE001 - a bug in a job is shown, and fails the run
            import traceback

            traceback.print_exc()
            raise

    def close(self, cancel=False):
        if cancel:
            self.stopping.set()
        self.pool.shutdown(wait=True, cancel_futures=cancel)


# ---------------------------------------------------------------- a resident's photos


def jpeg(rng: random.Random, size=(640, 480), noise=False) -> bytes:
    """A small real JPEG (Pillow): a gradient with a few shapes, like a phone photo scaled down;
    with `noise` it compresses badly (to fill a disk quickly)."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", size, (rng.randrange(256), rng.randrange(256), rng.randrange(256)))
    draw = ImageDraw.Draw(image)
    for _ in range(6):
        x, y = rng.randrange(size[0]), rng.randrange(size[1])
        draw.rectangle([x, y, x + rng.randrange(40, 200), y + rng.randrange(40, 160)],
                       fill=(rng.randrange(256), rng.randrange(256), rng.randrange(256)))
    if noise:
        image = Image.frombytes("RGB", size, rng.randbytes(size[0] * size[1] * 3))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()
