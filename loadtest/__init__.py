"""Load and fault tests: Linli as production runs it, driven by a city's worth of traffic.

What it owns: a throwaway PostgreSQL database (created from scratch or copied from a template
database, always dropped), a spare Redis database for the cache (flushed only when it holds
nothing but Django cache keys), gunicorn with DEBUG off, a `manage.py db_worker` task worker —
and the loader, an open-loop scheduler on threads with `http.client` (bench/forms_http.py's
request style: a new connection per request), which sends requests at the times a profile
says, whether or not the server keeps up, and measures latency from that time.

Layout:
  profile.py   — the city and its traffic, CI-sized and full (documented numbers, nothing else)
  stack.py     — database, cache, gunicorn, the task worker, PostgreSQL restarts, a tmpfs, and
                 the sampler of connections and CPU
  session.py   — one run's work folder, database (built or copied from a template) and Django
  dataset.py   — the city's definitions, people, history, ledger and pages, bulk-written
  loader.py    — the open-loop loader: scheduling, requests, records, the photos
  traffic.py   — what residents, the public and reviewers do, as jobs for the loader
  checks.py    — what must hold in the database afterwards (nothing lost, nothing half-written)
  scenarios.py — the load run, the shop rush and the form comparison
  faults.py    — a killed web worker, a PostgreSQL restart, a killed task worker, a full disk
  __main__.py  — `python -m loadtest [--ci | --full] [FAULT]`

It must never touch anything it did not create: the database it drops is the one it made, the
Redis database it flushes held only cache keys, the processes it kills are its own children.
Figures go in docs/performance.md; tests/load runs the CI-sized scenarios.
"""
