"""Settings for bench/forms_http.py: the project's own settings plus a bare Django form view
(bench/bench_urls.py) as the ceiling. Not for anything but benchmarks."""

from config.settings import *  # noqa: F401,F403
from config.settings import BASE_DIR, TEMPLATES

ROOT_URLCONF = "bench.bench_urls"
TEMPLATES[0]["DIRS"] = [*TEMPLATES[0]["DIRS"], BASE_DIR / "bench" / "templates"]
