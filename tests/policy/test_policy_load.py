"""Policy loading: the shipped policies validate, layering merges as documented, and every
kind of bad policy gives one clear `PolicyError` (messages pinned by snapshots)."""

from __future__ import annotations

import datetime
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator

from auditor.model import (
    Evidence,
    InputFormat,
    Inventory,
    OAuthProfiles,
    Severity,
    WebConfig,
)
from auditor.policy import (
    MAX_POLICY_BYTES,
    PolicyError,
    load_policy,
    policy_as_yaml,
    policy_init_text,
    policy_schema,
)
from auditor.resources import default_policy_path, policies_dir
from auditor.rules import RULE_IDS, RULES, evaluate

HERE = Path(__file__).resolve().parent
INVALID = sorted(path.name for path in (HERE / "invalid").glob("*.yaml"))
EXAMPLES = sorted(policies_dir().joinpath("examples").glob("*.yaml"))


@pytest.fixture
def in_policy_tests(monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run from tests/policy so that messages carry short relative paths."""
    monkeypatch.chdir(HERE)
    return HERE


# --- what ships ---------------------------------------------------------------------------


def test_the_shipped_default_is_valid_so_loading_it_skips_the_schema(tmp_path: Path) -> None:
    from auditor.policy.files import DEFAULT_POLICY, read_policy_file
    from auditor.policy.validation import schema_issues

    # Loading the shipped default does not check it against the schema (38 ms a run): this does.
    shipped = read_policy_file(default_policy_path(), DEFAULT_POLICY)
    assert schema_issues(shipped) == []
    # A copy of it named like it is still checked: an unknown top-level key is refused.
    copy = tmp_path / DEFAULT_POLICY
    copy.write_bytes(default_policy_path().read_bytes() + b"\nnot_a_setting: 1\n")
    with pytest.raises(PolicyError, match="not_a_setting"):
        load_policy([copy], default=False)


def test_the_default_policy_holds_every_declared_rule_and_overrides_none() -> None:
    policy = load_policy(strict_waivers=True)
    assert tuple(info.id for info in policy.rules) == RULE_IDS
    assert policy.rules == tuple(declared.info() for declared in RULES)
    document = yaml.safe_load(default_policy_path().read_text(encoding="utf-8"))
    assert "rules" not in document and "rule_overrides" not in document
    assert policy.sources == ("default",)
    assert policy.waivers == () and policy.malformed_waivers == ()
    remediation = {info.id: info.remediation for info in policy.rules}
    assert {rule for rule, template in remediation.items() if template} == {
        "HT001", "HT003", "HT004", "HT007", "HT008", "PA001", "PA002", "PA003", "PA004", "WC001",
        "WC002",
    }  # fmt: skip
    for info in policy.rules:
        sentences = re.findall(r"[.!?](?:\s|$)", info.rationale.replace("e.g.", "eg"))
        assert 2 <= len(sentences) <= 4, info.id
        assert info.references and all(ref.startswith("https://") for ref in info.references)
    known = {app.application_identifier: app for app in policy.applications}
    assert set(known) == {
        "00000002-0000-0ff1-ce00-000000000000",
        "00000003-0000-0000-c000-000000000000",
        "7557eb47-c689-4224-abcf-aef9bd7573df",
        "db7de2b5-2149-435e-8043-e080dd50afae",
        "00000004-0000-0ff1-ce00-000000000000",
    }
    assert all(app.approved_app_only == () for app in policy.applications)
    assert "V1S2SAppOnly" in policy.known_profile_tokens
    assert policy.forbidden_profiles_everywhere == ("V1S2SAppOnly",)
    assert {vdir.vdir for vdir in policy.vdirs} >= {"Default Web Site/API", "Exchange Back End/ecp"}


@pytest.mark.parametrize("example", EXAMPLES, ids=[path.name for path in EXAMPLES])
def test_examples_validate(example: Path) -> None:
    policy = load_policy([example], strict_waivers=True)
    assert policy.sources == ("default", example.name)


def test_the_init_text_validates(tmp_path: Path) -> None:
    path = tmp_path / "org.yaml"
    path.write_text(policy_init_text(), encoding="utf-8")
    policy = load_policy([path], strict_waivers=True)
    assert policy.name == "contoso-exchange"
    assert policy.sources == ("default", path.name)


def test_the_init_text_examples_validate_when_uncommented(tmp_path: Path) -> None:
    yaml_comment = re.compile(r"^# (?=\s*[a-z_]+:|\s+\S)")
    text = "\n".join(yaml_comment.sub("", line) for line in policy_init_text().splitlines())
    path = tmp_path / "org.yaml"
    path.write_text(text, encoding="utf-8")
    policy = load_policy([path], strict_waivers=True)
    assert policy.rule("FL001").severity is Severity.HIGH
    assert not policy.rule("PA005").enabled
    graph = policy.application("00000003-0000-0000-c000-000000000000")
    assert graph is not None and graph.approved_app_only == ("Mail.Read",)
    assert [w.ticket for w in policy.waivers] == ["CHG-0001"]


def test_the_schema_is_strict_draft_2020_12() -> None:
    schema = policy_schema()
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"

    def objects(node: Any) -> list[dict[str, Any]]:
        found = []
        if isinstance(node, dict):
            if node.get("type") == "object":
                found.append(node)
            for value in node.values():
                found.extend(objects(value))
        elif isinstance(node, list):
            for value in node:
                found.extend(objects(value))
        return found

    for node in objects(schema):
        assert node.get("additionalProperties") is False or isinstance(
            node.get("additionalProperties"), dict
        ), node.get("title")
    schema["$id"] = "changed"
    assert policy_schema()["$id"] != "changed"  # callers get a copy


def test_the_default_policy_validates_against_the_schema_as_editors_see_it() -> None:
    document = yaml.safe_load(default_policy_path().read_text(encoding="utf-8"))
    errors = list(Draft202012Validator(policy_schema()).iter_errors(document))
    assert errors == []


# --- layering -----------------------------------------------------------------------------


def test_layering_merges_as_documented(in_policy_tests: Path) -> None:
    policy = load_policy([Path("valid/team.yaml")])
    assert policy.name == "team-messaging"
    assert policy.sources == ("default", "org-base.yaml", "team.yaml")
    assert policy.rule("FL001").severity is Severity.LOW  # the last override wins
    assert not policy.rule("PA004").enabled  # kept from the base
    assert policy.rule("PA004").title == load_policy().rule("PA004").title
    graph = policy.application("00000003-0000-0000-c000-000000000000")
    assert graph is not None
    assert graph.name == "Microsoft Graph"  # from the default, not restated
    assert graph.approved_app_only == ("Mail.Read", "Calendars.Read")
    hr = policy.application("11111111-2222-3333-4444-555555555555")
    assert hr is not None and hr.name == "HR connector"
    assert len(policy.applications) == 6
    api = policy.vdir("Default Web Site/API")
    assert api is not None
    assert api.vdir == "Default Web Site/API"  # canonical spelling
    assert api.allowed_profiles == ("V1S2SAppOnly",)
    assert api.default_profiles is not None and "CallbackV2" in api.default_profiles
    assert policy.forbidden_profiles_everywhere == ("V1S2SAppOnly", "StiAppOnly")
    assert policy.forbidden_app_only == load_policy().forbidden_app_only
    assert policy.csv_list_separator == ";"
    assert [(w.ticket, w.source, w.line) for w in policy.waivers] == [
        ("RISK-1", "org-base.yaml", 16),
        ("CHG-2", "team.yaml", 13),
    ]


def test_a_base_given_twice_is_loaded_once(in_policy_tests: Path) -> None:
    policy = load_policy([Path("valid/org-base.yaml"), Path("valid/team.yaml")])
    assert policy.sources == ("default", "org-base.yaml", "team.yaml")
    assert len(policy.waivers) == 2


def test_a_standalone_policy_starts_every_rule_from_its_declaration(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("standalone.yaml").write_text(
        "name: standalone\nversion: 1\nrule_overrides:\n  PA005: {severity: low}\n",
        encoding="utf-8",
    )
    policy = load_policy([Path("standalone.yaml")], default=False)
    assert tuple(info.id for info in policy.rules) == RULE_IDS
    assert policy.rule("PA005").severity is Severity.LOW
    assert policy.rule("PA001") == RULES[2].info()


def test_show_round_trips(tmp_path: Path, in_policy_tests: Path) -> None:
    policy = load_policy([Path("valid/team.yaml")])
    text = policy_as_yaml(policy)
    assert text == policy_as_yaml(load_policy([Path("valid/team.yaml")]))
    assert "sha256: " + policy.sha256 in text
    shown = tmp_path / "shown.yaml"
    shown.write_text(text, encoding="utf-8")
    again = load_policy([shown], default=False, strict_waivers=True)
    for name in (
        "rules", "applications", "forbidden_app_only", "known_profile_tokens",
        "app_only_profile_tokens", "vdirs", "forbidden_profiles_everywhere",
        "csv_list_separator",
    ):  # fmt: skip
        assert getattr(again, name) == getattr(policy, name), name
    assert [w.to_json() for w in again.waivers] == [w.to_json() for w in policy.waivers]


def test_the_hash_covers_every_file_and_ignores_line_endings(tmp_path: Path) -> None:
    text = policy_init_text()
    lf = tmp_path / "lf.yaml"
    crlf = tmp_path / "crlf.yaml"
    changed = tmp_path / "changed.yaml"
    lf.write_bytes(text.encode())
    crlf.write_bytes(text.replace("\n", "\r\n").encode())
    changed.write_bytes(text.replace("contoso-exchange", "fabrikam").encode())
    hashes = [load_policy([path]).sha256 for path in (lf, crlf, changed)]
    assert hashes[0] == hashes[1] != hashes[2]
    assert load_policy().sha256 != hashes[0]
    assert len(hashes[0]) == 64


# --- waivers ------------------------------------------------------------------------------


def test_malformed_waivers_do_not_stop_an_audit(in_policy_tests: Path) -> None:
    policy = load_policy([Path("invalid/bad-date.yaml"), Path("invalid/waiver-missing-field.yaml")])
    assert policy.waivers == ()
    assert policy.malformed_waivers == (
        (5, "waivers[0].expires: '2026-02-30' is not a calendar date (expected YYYY-MM-DD)"),
        (5, "waivers[0]: missing required key 'ticket'"),
    )
    assert policy.malformed_waiver_sources == (
        "bad-date.yaml",
        "waiver-missing-field.yaml",
    )
    evaluation = evaluate(
        _inventory_with_dropped_segment(), policy, as_of=datetime.date(2026, 1, 1)
    )
    wv001 = [f for f in evaluation.findings if f.rule_id == "WV001"]
    assert [(f.location.path, f.location.line) for f in wv001] == [
        ("bad-date.yaml", 5),
        ("waiver-missing-field.yaml", 5),
    ]
    assert not any(f.suppressed for f in evaluation.findings)


WAIVERS = """\
version: 1
name: dated
extends: default
waivers:
  - rule: WC002
    subject: "web-config:EX02:*"
    reason: pilot
    ticket: RISK-1
    owner: Dana
    approver: Priya
    expires: 2026-12-31
  - rule: WC002
    subject: "web-config:EX01:*"
    reason: typo in the date
    ticket: RISK-2
    owner: Dana
    approver: Priya
    expires: 2026-02-30
"""


def test_a_waiver_expires_on_a_date_and_is_written_as_one(tmp_path: Path) -> None:
    path = tmp_path / "dated.yaml"
    path.write_text(WAIVERS)
    policy = load_policy([path])
    (waiver,) = policy.waivers  # the malformed one never becomes a Waiver
    assert waiver.expires == datetime.date(2026, 12, 31)
    assert waiver.to_json()["expires"] == "2026-12-31"
    assert policy.malformed_waivers == (
        (12, "waivers[1].expires: '2026-02-30' is not a calendar date (expected YYYY-MM-DD)"),
    )
    assert all(type(info.id) is str for info in policy.rules)
    on_the_day = evaluate(
        _inventory_with_dropped_segment(), policy, as_of=datetime.date(2026, 12, 31)
    )
    assert [f.rule_id for f in on_the_day.findings if f.suppressed] == ["WC002"]
    after = evaluate(_inventory_with_dropped_segment(), policy, as_of=datetime.date(2027, 1, 1))
    messages = sorted(f.message for f in after.findings if f.rule_id == "WV001")
    assert len(messages) == 2
    assert "expired on 2026-12-31; as of 2027-01-01" in messages[1]
    assert "'2026-02-30' is not a calendar date" in messages[0]


def _inventory_with_dropped_segment() -> Inventory:

    evidence = Evidence("EX02/web.config", 4, "<add />", "0" * 64, InputFormat.WEB_CONFIG)
    config = WebConfig(
        server="EX02",
        vdir="Default Web Site/API",
        path="EX02/web.config",
        sha256="0" * 64,
        app_settings=(),
        oauth_profiles=OAuthProfiles("S2SAppActAs|", ("S2SAppActAs", ""), 4, evidence),
    )
    return Inventory(web_configs=(config,))


# --- invalid policies ---------------------------------------------------------------------


@pytest.mark.parametrize("name", INVALID)
def test_invalid_policy_gives_one_clear_error(
    name: str, in_policy_tests: Path, snapshot: Any
) -> None:
    with pytest.raises(PolicyError) as caught:
        load_policy([Path("invalid") / name], strict_waivers=True)
    message = str(caught.value)
    assert "\n" not in message
    assert str(HERE) not in message
    assert message == snapshot


def test_a_wrongly_typed_waiver_is_an_error_even_when_lenient(in_policy_tests: Path) -> None:
    with pytest.raises(PolicyError, match=r"waivers\[0\]\.ticket: expected a text"):
        load_policy([Path("invalid/waiver-wrong-type.yaml")])


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("latin1.yaml", "name: Zürich\nversion: 1\n".encode("latin-1")),
        ("utf16.yaml", "name: org\nversion: 1\n".encode("utf-16")),
        ("too-large.yaml", b"name: org\nversion: 1\n# " + b"x" * MAX_POLICY_BYTES + b"\n"),
        ("deep.yaml", b"name: org\nversion: 1\nwaivers: " + b"[" * 200 + b"]" * 200 + b"\n"),
        ("two-documents.yaml", b"name: org\nversion: 1\n---\nname: other\n"),
    ],
    ids=["latin1", "utf16", "too-large", "deep", "two-documents"],
)
def test_unreadable_policy_gives_one_clear_error(
    name: str, content: bytes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, snapshot: Any
) -> None:
    monkeypatch.chdir(tmp_path)
    Path(name).write_bytes(content)
    with pytest.raises(PolicyError) as caught:
        load_policy([Path(name)])
    assert str(caught.value) == snapshot


def test_a_missing_policy_file(in_policy_tests: Path) -> None:
    with pytest.raises(PolicyError, match=r"^nowhere\.yaml: policy file not found$"):
        load_policy([Path("nowhere.yaml")])


def test_errors_carry_their_parts(in_policy_tests: Path) -> None:
    with pytest.raises(PolicyError) as caught:
        load_policy([Path("invalid/wrong-type.yaml")])
    error = caught.value
    assert (error.path, error.line, error.where) == (
        "invalid/wrong-type.yaml",
        6,
        "applications[0].approved_app_only[2]",
    )
    assert json.dumps(error.problem)
