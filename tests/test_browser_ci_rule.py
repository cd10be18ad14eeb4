"""In CI a missing browser fails the run; locally the browser tests skip with the reason (issue #16)."""

import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest

from tests.browser import conftest as browser

ROOT = Path(__file__).resolve().parents[1]


def _items():
    return [SimpleNamespace(path=Path(browser.__file__).parent / "test_x.py", add_marker=lambda marker: None)]


@pytest.mark.parametrize("value, expected", [("true", True), ("1", True), ("yes", True), ("", False),
                                             ("false", False), ("0", False), ("no", False)])
def test_ci_values(monkeypatch, value, expected):
    monkeypatch.setenv("CI", value)
    assert browser.in_ci() is expected


def test_missing_browser_fails_collection_in_ci(monkeypatch):
    monkeypatch.setenv("CI", "true")
    monkeypatch.setattr(browser, "chromium_missing", lambda: True)
    with pytest.raises(pytest.UsageError, match="CI is set and 1 browser tests cannot run"):
        browser.pytest_collection_modifyitems(None, _items())


def test_missing_browser_skips_locally(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setattr(browser, "chromium_missing", lambda: True)
    added = []
    item = SimpleNamespace(path=Path(browser.__file__).parent / "test_x.py", add_marker=added.append)
    browser.pytest_collection_modifyitems(None, [item])
    assert [m.name for m in added] == ["skip"] and "make browser-deps" in added[0].kwargs["reason"]


def _browser_deps(tmp_path, **env):
    """`make browser-deps` where Chromium is missing and apt-get cannot be found."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("sh", "grep", "id", "dpkg-query"):
        found = subprocess.run(["sh", "-c", f"command -v {tool}"], capture_output=True, text=True).stdout.strip()
        if found:
            (bin_dir / tool).symlink_to(found)
    return subprocess.run(["make", "-s", "--no-print-directory", "browser-deps", "SHELL=/bin/sh",
                           f"CHROMIUM={tmp_path / 'no-chromium'}"], cwd=ROOT, capture_output=True, text=True,
                          env={"PATH": str(bin_dir), **env}, executable=subprocess.run(
                              ["sh", "-c", "command -v make"], capture_output=True, text=True).stdout.strip())


def test_make_browser_deps_fails_in_ci(tmp_path):
    done = _browser_deps(tmp_path, CI="true")
    assert done.returncode != 0
    assert "CI is set, so the browser tests must not be skipped" in done.stderr


def test_make_browser_deps_skips_locally(tmp_path):
    done = _browser_deps(tmp_path)
    assert done.returncode == 0
    assert "the browser tests are skipped until then" in done.stderr
