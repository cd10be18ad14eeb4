"""The privacy rules public pages apply (pure: no database)."""

import pytest

from engine.privacy import ANONYMOUS, PrivacyRules, mask_name, mask_phone

LEVELS = ["general_branch", "compound", "grid", "member_household", "resident_household"]
CHAIN = [("general_branch", "民悦社区"), ("compound", "同兴苑"), ("grid", "第三网格"),
         ("member_household", "张家"), ("resident_household", "301室")]


@pytest.mark.parametrize("name, masked", [("张晓明", "张*明"), ("李四", "李*"), ("欧阳文华", "欧**华"), ("王", "王*"),
                                          ("", ANONYMOUS)])
def test_names_keep_their_first_and_last_character(name, masked):
    assert mask_name(name) == masked


@pytest.mark.parametrize("phone, masked", [("13812341234", "138****1234"), ("138-1234-1234", "138****1234"),
                                           ("12345", "*****")])
def test_phones_keep_three_and_four_digits(phone, masked):
    assert mask_phone(phone) == masked


def test_rules_come_from_the_privacy_section_with_safe_defaults():
    rules = PrivacyRules.from_definition({"privacy": {"names": "hide", "anonymous_label": {"zh-hans": "热心居民"}}})
    assert rules.name("张晓明") == "热心居民" and rules.name("张晓明", consented=True) == "张晓明"
    assert PrivacyRules.from_definition({}).name("张晓明") == "张*明"
    assert PrivacyRules(phones="hide").phone("13812341234") == ""


def test_an_honour_roll_names_only_those_who_consented_to_it():
    rules = PrivacyRules(anonymous_label="热心居民")
    assert rules.honour_name("张晓明", consented_to_honour=True) == "张晓明"
    # consent to be named on post boards is not consent for the honour roll
    assert rules.honour_name("张晓明", consented_to_honour=False, consented_to_name=True) == "热心居民"
    assert PrivacyRules(honour_roll_consent=False).honour_name("张晓明", False, consented_to_name=True) == "张晓明"


@pytest.mark.parametrize("addresses, shown", [("building", "同兴苑 第三网格"), ("compound", "同兴苑"), ("hide", "")])
def test_addresses_stop_at_the_building_and_never_reach_a_household(addresses, shown):
    assert PrivacyRules(addresses=addresses).unit_path(CHAIN, LEVELS) == shown
