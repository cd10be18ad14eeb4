"""gunicorn settings for Linli's web process: `gunicorn -c deploy/gunicorn.conf.py config.wsgi`.

Everything that differs between machines comes from the environment, like the Django settings:

GUNICORN_BIND        address to listen on (default 127.0.0.1:8000: the reverse proxy faces the network)
WEB_CONCURRENCY      worker processes (default 2; gunicorn's guidance is 2 x cores + 1)
GUNICORN_THREADS     threads per worker (default 1)
GUNICORN_TIMEOUT     seconds a request may take before its worker is restarted (default 60)
GUNICORN_MAX_REQUESTS  requests a worker serves before it is replaced (default 20000; 0: never)
GUNICORN_CONTROL_SOCKET  path of gunicorn's control socket (`gunicornc`); off unless set, so that
                     two instances on one machine do not fight over the default path
FORWARDED_ALLOW_IPS  proxies whose X-Forwarded-* headers gunicorn trusts (gunicorn's default: 127.0.0.1,::1)
"""

import os

bind = [os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")]
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = 30
keepalive = 5
# The application is imported once, in the arbiter, before the workers are forked: a replaced or
# killed worker is back in milliseconds instead of re-importing Django and Wagtail (about 2 s of CPU,
# a second of which the other workers lose under load). Code changes therefore need a restart (or
# USR2), not a HUP: docs/operations.md.
preload_app = True
# A worker is replaced after so many requests (with jitter, so not all at once): memory stays
# bounded. At the 3x campaign (about 330 requests a second) 2,000 meant a new worker every few
# seconds, each starting with cold caches: docs/performance.md.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "20000"))
max_requests_jitter = max_requests // 10
# Heartbeat files in memory: a slow or full disk cannot make the arbiter kill healthy workers.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None

_control_socket = os.environ.get("GUNICORN_CONTROL_SOCKET", "")
if _control_socket:
    control_socket = _control_socket
else:
    control_socket_disable = True

# Logs to stderr, collected by the process manager (journald, supervisord).
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
proc_name = "linli"
