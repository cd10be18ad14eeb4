"""The CI-sized load run (loadtest.profile.CI): a city of 3 communities under the campaign's
bursts at 1× and 3×, the shop rush, and Wagtail's form page beside Linli's — one run, one server
(gunicorn, PostgreSQL, the Redis cache, db_worker); each test below is one of its assertions."""

import pytest

from .conftest import failed, scenario

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def report(city_template, tmp_path_factory):
    found, output = scenario(city_template, tmp_path=tmp_path_factory.mktemp("load"))
    print(output)
    return found


def test_no_server_errors(report):
    assert not failed(report, "no 5xx", "every request answered")


def test_nothing_lost_or_duplicated(report):
    assert not failed(report, "nothing lost", "a key sent twice")


def test_a_retry_with_the_same_key_is_answered_with_the_first_submission(report):
    assert not failed(report, "no submission refused")


def test_submit_p95_under_one_second(report):
    assert not failed(report, "submit p95")


def test_cached_pages_p95_under_300_ms(report):
    assert not failed(report, "cached pages p95")


def test_no_half_written_items(report):
    assert not failed(report, "every submission has", "every item in a state", "every timer has", "state and audit",
                      "no file row")


def test_the_ledger_verifies(report):
    assert not failed(report, "python manage.py verify_ledger")


def test_database_connections_within_the_pool(report):
    assert not failed(report, "database connections")


def test_shop_rush_sells_exactly_the_stock(report):
    assert not failed(report, "shop rush: exactly", "shop rush: no negative")


def test_shop_rush_tells_the_rest_sold_out(report):
    assert not failed(report, "shop rush: the rest")


def test_wagtail_form_page_measured_beside_linli(report):
    compare = report["compare"]
    assert set(compare) == {"linli page", "wagtail page", "linli api"}
    assert all(row["req/s"] > 0 for row in compare.values()), compare
    assert not failed(report, "form comparison")
