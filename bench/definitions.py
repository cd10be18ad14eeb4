"""Benchmark: check and load 1,000 generated definitions.

    .venv/bin/python bench/definitions.py [--definitions 1000] [--runs 5]

Copies the example communities (minyue, zanan and the kaiyuan street) under new slugs until
there are at least N definitions, then times, in one process:
  check  — the three gates over every file (pipeline.check_paths), per definition;
  load   — publishing all of them into an empty SQLite database (one transaction);
  reload — the same load again, which must publish nothing.
Prints the median of the runs and the spread. Figures go in docs/performance.md.
"""

import argparse
import os
import platform
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def generate(target: Path, wanted: int) -> int:
    forms, flows = target / "forms_schemas", target / "workflows_yaml"
    shutil.copytree(ROOT / "forms_schemas" / "_shared", forms / "_shared")
    shutil.copytree(ROOT / "workflows_yaml" / "kaiyuan", flows / "kaiyuan")
    count, copy = 1, 0
    while count < wanted:
        for source in ("minyue", "zanan"):
            slug = f"{source}-{copy:04d}"
            shutil.copytree(ROOT / "forms_schemas" / source, forms / slug)
            shutil.copytree(ROOT / "workflows_yaml" / source, flows / slug)
            community = flows / slug / "community.yaml"
            text = community.read_text(encoding="utf-8")
            community.write_text(re.sub(r"^community: \S+", f"community: {slug}", text, flags=re.M), encoding="utf-8")
            count += len(list((forms / slug).glob("*.json"))) + len(list((flows / slug).glob("*.yaml")))
        copy += 1
    return count


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--definitions", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="linli-bench-"))
    os.environ["DATABASE_URL"] = f"sqlite:///{work / 'bench.sqlite3'}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("DEBUG", "1")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from engine.definitions.pipeline import check_paths
    from engine.definitions.publishing import publish_definitions
    from engine.models import DefinitionVersion

    total = generate(work / "defs", args.definitions)
    forms, flows = work / "defs" / "forms_schemas", work / "defs" / "workflows_yaml"
    check_times, load_times, reload_times = [], [], []
    for _ in range(args.runs):
        started = time.perf_counter()
        result = check_paths([], forms, flows, base=work / "defs")
        check_times.append(time.perf_counter() - started)
        assert result.ok, result.problems[:3]
        publishable = [d for d in result.definitions if d.publishable]

        connection.close()
        (work / "bench.sqlite3").unlink(missing_ok=True)
        call_command("migrate", verbosity=0)
        started = time.perf_counter()
        report = publish_definitions(publishable)
        load_times.append(time.perf_counter() - started)
        assert len(report.published) == len(publishable)
        started = time.perf_counter()
        again = publish_definitions(publishable)
        reload_times.append(time.perf_counter() - started)
        assert not again.published and DefinitionVersion.objects.count() == len(publishable)

    def per_definition(times, n):
        return f"median {statistics.median(times) / n * 1000:.2f} ms/definition " \
               f"(min {min(times) / n * 1000:.2f}, max {max(times) / n * 1000:.2f}; total median {statistics.median(times):.2f} s)"

    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"definitions: {total} files ({len(publishable)} publishable), runs: {args.runs}")
    print(f"check:  {per_definition(check_times, total)}")
    print(f"load:   {per_definition(load_times, len(publishable))}")
    print(f"reload: {per_definition(reload_times, len(publishable))} (publishes nothing)")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
