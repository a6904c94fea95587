"""auditor.psquote: ASCII-only PowerShell literals, the PowerShell-faithful decoder, allow-lists."""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from ps1_support import HOSTILE_PIECES

from auditor.psquote import (
    decode_ps_literal,
    escape_single_quoted_content,
    is_valid_app_pool_name,
    is_valid_guid,
    is_valid_permission_name,
    is_valid_profile_token,
    ps_array,
    ps_literal,
)

hostile_text = st.lists(
    st.one_of(st.sampled_from(HOSTILE_PIECES), st.text(max_size=4)), max_size=8
).map("".join)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("", "''"),
        ("Mail.Read", "'Mail.Read'"),
        ("it's", "'it''s'"),
        ("Caf\u00e9", "('Caf' + [char]0x00E9)"),
        ("\u00e9", "('' + [char]0x00E9)"),
        ("a\r\nb", "('a' + [char]0x000D + [char]0x000A + 'b')"),
        ("\x00", "('' + [char]0x0000)"),
        ("\x7f", "('' + [char]0x007F)"),
        ("\t", "('' + [char]0x0009)"),
        (
            "x\u2019; Stop-Computer; \u2018",
            "('x' + [char]0x2019 + '; Stop-Computer; ' + [char]0x2018)",
        ),
        ("\U0001f600", "('' + [char]0xD83D + [char]0xDE00)"),
        ('$(whoami)`"', "'$(whoami)`\"'"),
    ],
)
def test_ps_literal_examples(value: str, expected: str) -> None:
    assert ps_literal(value) == expected
    assert decode_ps_literal(expected) == value


def test_ps_array() -> None:
    assert ps_array([]) == "@()"
    assert ps_array(["Mail.Read"]) == "@('Mail.Read')"
    assert ps_array(["a", "\n"]) == "@('a', ('' + [char]0x000A))"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("", ""),
        ("plain", "plain"),
        ("'", "''"),
        ("\u2018\u2019\u201a\u201b", "\u2018\u2018\u2019\u2019\u201a\u201a\u201b\u201b"),
        ('"\u201c\u201d\u201e', '"\u201c\u201d\u201e'),  # double quotes are not special here
    ],
)
def test_escape_single_quoted_content(value: str, expected: str) -> None:
    assert escape_single_quoted_content(value) == expected


@given(hostile_text)
@settings(max_examples=300, derandomize=True)
@example("x\u2019; Stop-Computer; \u2018")
def test_escaper_round_trips_by_powershell_rules(value: str) -> None:
    assert decode_ps_literal("'" + escape_single_quoted_content(value) + "'") == value


def test_doubling_only_the_ascii_quote_is_injectable() -> None:
    # PowerShell ends the string at U+2019 and runs what follows as code.
    naive = "'" + "x\u2019; Stop-Computer; \u2018".replace("'", "''") + "'"
    with pytest.raises(ValueError, match="text after the closing quote"):
        decode_ps_literal(naive)


def test_decoder_follows_the_tokenizer_for_mixed_quote_pairs() -> None:
    # Any single quote followed by any single quote is an escape; the second one is kept.
    assert decode_ps_literal("'a\u2019'b'") == "a'b"
    assert decode_ps_literal("\u2018a''b\u2019") == "a'b"


@pytest.mark.parametrize(
    "text",
    ["", "'open", "'a'b", "('a' + Stop-Computer)", "('a' + [char]0x41 )", "[char]0x0041", "(x)"],
)
def test_decoder_rejects_what_ps_literal_never_emits(text: str) -> None:
    with pytest.raises(ValueError):
        decode_ps_literal(text)


@given(st.one_of(hostile_text, st.text()))
@settings(max_examples=500, derandomize=True)
def test_ps_literal_is_ascii_and_round_trips(value: str) -> None:
    literal = ps_literal(value)
    assert literal.isascii()
    assert "\r" not in literal and "\n" not in literal
    assert all(0x20 <= ord(char) <= 0x7E for char in literal)
    assert decode_ps_literal(literal) == value


def test_lone_surrogate_is_one_char_cast() -> None:
    assert ps_literal("\ud800") == "('' + [char]0xD800)"
    assert decode_ps_literal(ps_literal("\ud800")) == "\ud800"


@pytest.mark.parametrize(
    ("name", "valid"),
    [
        ("Mail.Read", True),
        ("User.ReadWrite.All", True),
        ("full_access_as_app", True),
        ("Privilege.SkipClientAccessRules", True),
        ("", False),
        ("Mail.", False),
        (".Read", False),
        ("Mail Read", False),
        ("Mail.Read'", False),
        ("Mail.Read\u2019", False),
        ("1Mail", False),
        ("Mail..Read", False),
        ("M\u00e4il.Read", False),
        ("Mail.Read\n", False),
    ],
)
def test_permission_allow_list(name: str, valid: bool) -> None:
    assert is_valid_permission_name(name) is valid


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("00000003-0000-0000-c000-000000000000", True),
        ("00000002-0000-0FF1-CE00-000000000000", True),
        ("{00000003-0000-0000-c000-000000000000}", False),
        ("urn:uuid:00000003-0000-0000-c000-000000000000", False),
        ("00000003000000000c000000000000000", False),
        ("00000003-0000-0000-c000-00000000000g", False),
        ("00000003-0000-0000-c000-000000000000\n", False),
        ("", False),
    ],
)
def test_guid_allow_list(value: str, valid: bool) -> None:
    assert is_valid_guid(value) is valid


@pytest.mark.parametrize(
    ("token", "valid"),
    [
        ("V1S2SAppOnly", True),
        ("S2SAppActAs", True),
        (" V1AppActAs", False),
        ("", False),
        ("V1|AppOnly", False),
        ("V1AppOnly'", False),
    ],
)
def test_profile_token_allow_list(token: str, valid: bool) -> None:
    assert is_valid_profile_token(token) is valid


@pytest.mark.parametrize(
    ("name", "valid"),
    [
        ("MSExchangeRestFrontEndAppPool", True),
        ("Pool.1_a-b", True),
        ("Pool'", False),
        ("", False),
        ("Pool Name", False),
    ],
)
def test_app_pool_allow_list(name: str, valid: bool) -> None:
    assert is_valid_app_pool_name(name) is valid
