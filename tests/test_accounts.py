"""The *WeChat account* (微信账号) rules: WeCom's, not the guide's two versions."""

import pytest

from ext_wecom.accounts import check_account, normalize_account


@pytest.mark.parametrize(
    "account",
    [
        "chendongping",
        "a",
        "Zhang.San",
        "li-si",
        "wang_wu",
        "user@corp",
        "9lives",
        "x" * 64,
    ],
)
def test_valid_accounts(account):
    assert check_account(account) is None


@pytest.mark.parametrize(
    ("account", "message"),
    [
        ("", "must be 1-64 bytes long (this one is 0)"),
        ("x" * 65, "must be 1-64 bytes long (this one is 65)"),
        ("张三", "'张' is not allowed; use letters, digits and _ - @ ."),
        ("zhang san", "' ' is not allowed; use letters, digits and _ - @ ."),
        ("a/b", "'/' is not allowed; use letters, digits and _ - @ ."),
        ("-lead", "must start with a letter or digit"),
        (".lead", "must start with a letter or digit"),
        ("@lead", "must start with a letter or digit"),
        ("_lead", "must start with a letter or digit"),
    ],
)
def test_invalid_accounts(account, message):
    assert check_account(account) == message


def test_accounts_compare_without_case():
    assert normalize_account(" ChenDongPing ") == "chendongping"
