"""The `format`s forms may use: each checked by Linli itself, never left to optional packages."""

import pytest

from engine.forms.formats import (
    FORMAT_CHECKER,
    is_cn_id_card,
    is_date,
    is_datetime,
    is_email,
    is_file_token,
    is_time,
    is_uri,
)


def conforms(value, fmt):
    return FORMAT_CHECKER.conforms(value, fmt)


def test_every_format_the_forms_use_is_checked():
    assert set(FORMAT_CHECKER.checkers) == {
        "date", "date-time", "time", "email", "uri", "cn-id-card", "file", "unit", "post", "store-item", "team"}


# ID card: region, birth date, sequence, ISO 7064 MOD 11-2 check digit.

@pytest.mark.parametrize("value", [
    "11010519491231002X",  # the standard's own example
    "11010519491231002x",  # lower-case x is the same check digit
    "440524188001010014",
    "110101200001010010",
])
def test_valid_id_cards(value):
    assert is_cn_id_card(value)
    assert conforms(value, "cn-id-card")


@pytest.mark.parametrize("value", [
    "110105194912310021",   # wrong check digit (should be X)
    "110105194912310020",
    "11010519490230002X",   # 1949-02-30 does not exist
    "11010519491331002X",   # month 13
    "11010517491231002X",   # born in 1749
    "01010519491231002X",   # regions do not start with 0
    "11010519491231002",    # 17 characters
    "11010519491231002XX",  # 19 characters
    "1101051949123100AX",   # letters in the sequence
    "11010519491231002Y",
    "11010519491231002X\n",  # a trailing newline is not part of an ID card number
    "1１０１０５19４９1231００２X",  # full-width digits where the pattern says \d (int() would read them)
    " 11010519491231002X",
    "",
])
def test_invalid_id_cards(value):
    assert not is_cn_id_card(value)
    assert not conforms(value, "cn-id-card")


def test_an_impossible_birth_date_is_refused_even_with_a_matching_check_digit():
    body = "11010519490230002"  # 1949-02-30
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    digit = "10X98765432"[sum(int(d) * w for d, w in zip(body, weights)) % 11]
    assert not is_cn_id_card(body + digit)


def test_leap_day_birth_dates():
    body = "11010520000229001"
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    digit = "10X98765432"[sum(int(d) * w for d, w in zip(body, weights)) % 11]
    assert is_cn_id_card(body + digit)
    body = "11010519000229001"  # 1900 was not a leap year
    digit = "10X98765432"[sum(int(d) * w for d, w in zip(body, weights)) % 11]
    assert not is_cn_id_card(body + digit)


# Dates and times.

@pytest.mark.parametrize("value", ["2024-03-15", "2024-02-29", "1999-12-31"])
def test_valid_dates(value):
    assert is_date(value)


@pytest.mark.parametrize("value", [
    "2023-02-29",           # not a leap year
    "2024-13-01",
    "2024-04-31",
    "2024-3-15",
    "20240315",
    "2024/03/15",
    "15-03-2024",
    "2024-W11-5",           # an ISO week date is not a calendar date
    "2024-03-15T10:00",     # a date-time is not a date
    "2024-03-15\n",
    "２０２４-03-15",        # full-width digits
    "",
])
def test_invalid_dates(value):
    assert not is_date(value)
    assert not conforms(value, "date")


@pytest.mark.parametrize("value", [
    "2024-03-15T10:30",             # what <input type=datetime-local> sends
    "2024-03-15T10:30:00",
    "2024-03-15 10:30",
    "2024-03-15T10:30:00Z",
    "2024-03-15T10:30:00.123+08:00",
])
def test_valid_date_times(value):
    assert is_datetime(value)


@pytest.mark.parametrize("value", [
    "2024-03-15",            # a date is not a date-time
    "2024-03-15T25:00",
    "2024-02-30T10:00",
    "2024-03-15T10",         # hour only
    "20240315T1030",         # ISO basic format
    "2024-W11-5T10:00",
    "10:30",
    "2024-03-15T10:30\n",
    "",
])
def test_invalid_date_times(value):
    assert not is_datetime(value)
    assert not conforms(value, "date-time")


@pytest.mark.parametrize("value", ["10:30", "10:30:15", "00:00", "23:59:59", "10:30+08:00"])
def test_valid_times(value):
    assert is_time(value)


@pytest.mark.parametrize("value", ["24:00", "10:60", "10", "1030", "T10:30", "10:30\n", "上午十点", ""])
def test_invalid_times(value):
    assert not is_time(value)


# E-mail and web addresses.

@pytest.mark.parametrize("value", ["wang.fang@example.cn", "li+si@mail.minyue.org.cn", "a@b.co"])
def test_valid_emails(value):
    assert is_email(value)


@pytest.mark.parametrize("value", [
    "wang.fang", "wang@", "@example.cn", "wang@example", "wang@@example.cn", "wang fang@example.cn",
    "wang@exa mple.cn", "wang@example.cn\n", "",
])
def test_invalid_emails(value):
    assert not is_email(value)
    assert not conforms(value, "email")


@pytest.mark.parametrize("value", [
    "http://example.cn", "https://example.cn/a/b?c=1#d", "HTTPS://EXAMPLE.CN", "https://127.0.0.1:8000/x",
])
def test_web_addresses_are_http_or_https(value):
    assert is_uri(value)


@pytest.mark.parametrize("value", [
    "ftp://example.cn/file", "javascript:alert(1)", "data:text/html,<script>alert(1)</script>",
    "file:///etc/passwd", "mailto:wang@example.cn", "//example.cn", "example.cn", "https://", "http:// example.cn",
    "https://example.cn/a b", "https://example.cn\n", "",
])
def test_other_addresses_are_refused(value):
    assert not is_uri(value)
    assert not conforms(value, "uri")


# Uploaded files and the names of a community's units, posts, store items and teams.

def test_file_tokens_are_32_lower_case_hex_digits():
    assert is_file_token("0123456789abcdef0123456789abcdef")
    assert is_file_token("f" * 32)
    for value in ["0123456789ABCDEF0123456789ABCDEF", "f" * 31, "f" * 33, "g" * 32, "../" + "f" * 29,
                  "0123456789abcdef-0123456789abcdef", "f" * 32 + "\n", ""]:
        assert not is_file_token(value), value
        assert not conforms(value, "file")


@pytest.mark.parametrize("fmt", ["unit", "post", "store-item", "team"])
def test_names(fmt):
    for value in ["grid_1", "tongxingyuan", "red_volunteers", "rice_5kg", "a", "x" * 64]:
        assert conforms(value, fmt), value
    for value in ["Grid_1", "1grid", "_grid", "grid-1", "grid 1", "网格", "x" * 65, "grid_1\n", ""]:
        assert not conforms(value, fmt), value


@pytest.mark.parametrize("fmt", sorted(["date", "date-time", "time", "email", "uri", "cn-id-card", "file", "unit",
                                        "post", "store-item", "team"]))
def test_formats_apply_only_to_strings(fmt):
    """Other types are the `type` keyword's business: one mistake, one message."""
    for value in [12, 1.5, None, True, ["2024-03-15"], {"a": 1}]:
        assert conforms(value, fmt)
