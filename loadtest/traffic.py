"""What the city's people do, as jobs for the open-loop loader: residents upload photos and submit
requests (some twice, with the same Idempotency-Key, as a phone on a bad network does), the
public reads the community pages, grid leaders analyse, community workers dispatch, residents
look at the leaderboard and their balance, grid leaders open their inbox.

Every request is recorded (loader.Recorder); every submission the server accepted is remembered
with its Idempotency-Key, so that the checks can compare what the clients were told with the
rows in the database.
"""

from __future__ import annotations

import collections
import random
import threading
import time
import uuid

from . import dataset
from .loader import Recorder, arrivals, bursty, jpeg, steady
from .profile import Profile

PAGE_WEIGHTS = {"home": 30, "honour roll": 15, "post board": 15, "announcements": 15, "announcement": 10,
                "statistics": 15}


class City:
    """The traffic of one run: shared state between the jobs (queues of items to act on, what
    was accepted), and the job factories."""

    def __init__(self, manifest, profile: Profile, port, recorder: Recorder, seed=1):
        self.manifest, self.profile, self.port, self.recorder = manifest, profile, port, recorder
        self.rng = random.Random(seed)
        self._lock = threading.Lock()
        self.communities = manifest["communities"]
        self.collected = collections.deque()  # (community index, submission id, grid id) waiting for analysis
        self.analysed = collections.deque()  # (community index, submission id) waiting for dispatch
        for index, community in enumerate(self.communities):
            for sid, grid in community["collected"]:
                self.collected.append((index, sid, grid))
            for sid, _grid in community["analysed"]:
                self.analysed.append((index, sid))
        self.accepted = []  # (key, id, reference, status, replayed) for every 201 of a submission
        self.sent_keys = collections.Counter()  # Idempotency-Key -> requests sent with it
        self.photos = [jpeg(random.Random(n)) for n in range(24)]
        self.idle = collections.Counter()  # jobs that found nothing to do (empty queue)
        self.level = "网格办理"
        self.stopping = threading.Event()  # set when the run is cut short: no more retries
        pages = [(c["pages"][name], w) for c in self.communities for name, w in PAGE_WEIGHTS.items()]
        pages += [(url, 5) for url in manifest.get("street_pages", {}).values()]
        self.page_urls, self.page_weights = zip(*pages)

    def choice(self, seq):
        with self._lock:
            return self.rng.choice(seq)

    def random(self):
        with self._lock:
            return self.rng.random()

    # ------------------------------------------------------------ schedules

    def schedule(self, phase, start, seconds, multiplier):
        """[(moment, job)] for a phase of the profile at `multiplier` × the 1× rates."""
        r, m, end = self.profile.rates, multiplier, start + seconds
        rng = random.Random(hash((phase, start)) & 0xFFFF)
        streams = [
            (bursty(r.submit_burst * m, r.submit_base * m, r.burst_seconds, r.period, offset=0), self.submit_job),
            (bursty(r.read_burst * m, r.read_base * m, r.burst_seconds, r.period, offset=r.period / 2), self.page_job),
            (steady(r.analyse * m), self.analyse_job),
            (steady(r.dispatch * m), self.dispatch_job),
            (steady(r.leaderboard * m), self.leaderboard_job),
            (steady(r.balance * m), self.balance_job),
            (steady(r.inbox * m), self.inbox_job),
        ]
        out = []
        for rate, factory in streams:
            for t in arrivals(rate, start, end, rng):
                job = factory(phase)
                job.kind, job.phase = factory.__name__.removesuffix("_job"), phase
                out.append((t, job))
        return out

    # ------------------------------------------------------------ residents

    def submit_job(self, phase):
        def job(scheduled):
            index = int(self.random() * len(self.communities))
            community = self.communities[index]
            resident = self.choice(community["residents"])
            auth = {"Authorization": f"Token {resident['token']}"}
            base = f"/api/v1/forms/{community['slug']}/{dataset.REQUEST_FORM}"
            tokens = []
            for _ in range(self.choice(self.profile.rates.photos)):
                reply = self.recorder.timed("upload", phase, scheduled, self.port, "POST", f"{base}/files/",
                                            files={"file": ("IMG.jpg", self.choice(self.photos), "image/jpeg")},
                                            fields={"field": "/photos"}, headers=auth)
                scheduled = time.monotonic()  # the next request of the chain is sent at once
                if reply is not None and reply.status == 201:
                    tokens.append(reply.json()["token"])
            data = dataset.request_data(random.Random(), resident["building"], 0, photos=tokens)
            key = uuid.uuid4().hex
            grid = community["buildings"][resident["building"]]
            draw = self.random()
            if draw < self.profile.rates.duplicate / 2:  # sent twice at once (a double tap)
                twin = threading.Thread(target=self.submit, args=(phase, time.monotonic(), base, data, key, auth,
                                                                  index, grid))
                twin.start()
                self.submit(phase, scheduled, base, data, key, auth, index, grid)
                twin.join()
            else:
                self.submit(phase, scheduled, base, data, key, auth, index, grid)
                if draw < self.profile.rates.duplicate:  # sent again after the answer (a retry)
                    self.submit(phase, time.monotonic(), base, data, key, auth, index, grid, kind="submit-again")
        return job

    def submit(self, phase, scheduled, base, data, key, auth, index, grid, kind="submit", retries=5):
        """POST the submission; on no answer or a 5xx, try again with the same key (what a client
        that does not know whether it was stored must do)."""
        for attempt in range(retries + 1):
            if self.stopping.is_set():
                return None
            with self._lock:
                self.sent_keys[key] += 1
            reply = self.recorder.timed(kind if attempt == 0 else "submit-retry", phase, scheduled, self.port,
                                        "POST", f"{base}/submissions/", json_body=data,
                                        headers={**auth, "Idempotency-Key": key})
            if reply is not None and reply.status < 500:
                if reply.status == 201:
                    body = reply.json()
                    replayed = reply.headers.get("idempotent-replayed") == "true"
                    with self._lock:
                        self.accepted.append((key, body["id"], body["reference"], kind, replayed))
                    if not replayed:
                        self.collected.append((index, body["id"], grid))
                return reply
            time.sleep(1.0)
            scheduled = time.monotonic()
        return None

    def page_job(self, phase):
        def job(scheduled):
            with self._lock:
                url = self.rng.choices(self.page_urls, self.page_weights)[0]
            self.recorder.timed("page", phase, scheduled, self.port, "GET", url,
                                note=lambda reply: {"cache": reply.headers.get("x-linli-cache")})
        return job

    def leaderboard_job(self, phase):
        def job(scheduled):
            community = self.choice(self.communities)
            resident = self.choice(community["residents"])
            self.recorder.timed("leaderboard", phase, scheduled, self.port, "GET",
                                f"/api/v1/communities/{community['slug']}/points/leaderboard/?period=quarter",
                                headers={"Authorization": f"Token {resident['token']}"})
        return job

    def balance_job(self, phase):
        def job(scheduled):
            community = self.choice(self.communities)
            resident = self.choice(community["residents"])
            self.recorder.timed("balance", phase, scheduled, self.port, "GET",
                                f"/api/v1/communities/{community['slug']}/points/balance/",
                                headers={"Authorization": f"Token {resident['token']}"})
        return job

    # ------------------------------------------------------------ reviewers

    def analyse_job(self, phase):
        def job(scheduled):
            try:
                index, sid, grid = self.collected.popleft()
            except IndexError:
                self.idle["analyse"] += 1
                return
            token = self.communities[index]["leaders"][grid]
            reply = self.transition("analyse", phase, scheduled, sid, token,
                                    {"analysis": "已核实，情况属实", "handling_level": self.level})
            if reply is not None and reply.status == 200:
                self.analysed.append((index, sid))
        return job

    def dispatch_job(self, phase):
        def job(scheduled):
            try:
                index, sid = self.analysed.popleft()
            except IndexError:
                self.idle["dispatch"] += 1
                return
            community = self.communities[index]
            self.transition("dispatch", phase, scheduled, sid, self.choice(community["workers"]),
                            {"assignee": self.choice(community["members"])})
        return job

    def transition(self, name, phase, scheduled, sid, token, data, comment=""):
        return self.recorder.timed(name, phase, scheduled, self.port, "POST", f"/api/v1/submissions/{sid}/transitions/",
                                   json_body={"transition": name, "comment": comment, "data": data},
                                   headers={"Authorization": f"Token {token}"})

    def inbox_job(self, phase):
        def job(scheduled):
            community = self.choice(self.communities)
            token = self.choice(list(community["leaders"].values()))
            self.recorder.timed("inbox", phase, scheduled, self.port, "GET", "/api/v1/tasks/",
                                headers={"Authorization": f"Token {token}"})
        return job
