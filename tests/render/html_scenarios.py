"""Fixture inputs for the report tests, audited through `auditor audit`'s own pipeline.

Each scenario writes the files an administrator would hand to `auditor audit` (exports in the
collection layout, one folder per server, and an organisation policy) under a folder of the
test's choosing, and `audit` runs `auditor.audit.run_audit` on them, which parses, judges,
plans and attaches the scripts (`attach_remediation`) exactly as the command does. Nothing here
builds a `Report` by hand: what the page shows is what production makes of the inputs.

- `write_recipe`: the bundled example (DESIGN.md section 1 after the widely copied recipe ran:
  EX01/EX02, "Microsoft Graph" with AppOnlyPermissions equal to its ActAsPermissions,
  `V1S2SAppOnly` appended to the REST vdir) with a policy that waives EX02's WC001 finding (pilot
  server) and holds a second waiver that runs out within 30 days of `AS_OF`.
- `write_hostile`: markup, script URLs, control and bidi characters and very long strings in
  every value an input or the policy can carry (application and permission names, Profiles
  tokens, waiver texts), plus a Format-List export cut at `$FormatEnumerationLimit` and a file
  that cannot be read, so the audit is INCOMPLETE.
- `write_applications` (and `large_report`, its audit): one export holding `count` partner
  applications unknown to the policy, each granted a forbidden and an unapproved app-only
  permission (four findings each, for the scale test and `benchmarks/`).

A plain module (no pytest import): tests import it as `html_scenarios`, `benchmarks/html_report.py`
puts `tests/render` on `sys.path`.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import shutil
from pathlib import Path
from typing import Any
from xml.sax.saxutils import quoteattr

import yaml

from auditor.audit import AuditRequest, run_audit
from auditor.model import Report, Severity
from auditor.resources import examples_dir

AS_OF = datetime.date(2026, 6, 10)
CHANGE_ID = "CHG0042137"
GRAPH_ID = "00000003-0000-0000-c000-000000000000"
EXO_ID = "00000002-0000-0ff1-ce00-000000000000"
API_VDIR = "Default Web Site/API"
REST_CONFIG = Path("FrontEnd") / "HttpProxy" / "Rest" / "web.config"
EWS_CONFIG = Path("FrontEnd") / "HttpProxy" / "EWS" / "web.config"
EWS_DEFAULT = b'value="S2SAppActAs|S2SAppOnly|V1AppActAs|V1AppOnly|Callback"'
API_DEFAULT = "S2SAppActAs|S2SAppOnly|V1AppActAs|V1AppOnly|Callback|V1S2SActAs|CallbackV2"

XSS = "<script>alert(1)</script>"
IMG = '"><img src=x onerror="window.__pwned=1;alert(1)">'
SVG = "<svg onload=window.__pwned=2>"
JS_URL = "javascript:window.__pwned=3"
STYLE_BREAK = "</style><script>window.__pwned=4</script>"
QUOTES = 'it\'s "quoted" \u2018curly\u2019 \u201cdouble\u201d `tick`'
NON_ASCII = "Ünïcödé 名前 Ελληνικά \u202eRTL-override\u202c"
CONTROL = "NUL\x00CR\rESC\x1b[31mBEL\x07"
LONG = "Very" + "Long" * 400 + "Value"
HOSTILE = f"{XSS}{IMG}{SVG} {QUOTES} {NON_ASCII} {CONTROL} {STYLE_BREAK}"

_WAIVER = {"owner": "messaging-team@contoso.example", "approver": "security-board@contoso.example"}


def audit(
    exports: Path,
    policy: Path | None = None,
    *,
    as_of: datetime.date = AS_OF,
    change_id: str = CHANGE_ID,
    fail_on: Severity = Severity.HIGH,
) -> Report:
    """What `auditor audit exports --policy policy.yaml --as-of AS_OF --change-id ID` reports,
    run in the folder that holds `exports` (so the page shows the same relative paths wherever
    the test's temporary folder is)."""
    policies: tuple[Path, ...] = ()
    if policy is not None:
        inside = policy.is_relative_to(exports.parent)
        policies = (policy.relative_to(exports.parent) if inside else policy.resolve(),)
    with contextlib.chdir(exports.parent):
        return run_audit(
            AuditRequest(
                paths=(Path(exports.name),),
                policy_paths=policies,
                as_of=as_of,
                change_id=change_id,
                fail_on=fail_on,
            )
        )


def write_policy(path: Path, name: str = "contoso", **document: Any) -> Path:
    """An organisation policy extending the default with `document`'s settings."""
    path.write_text(
        yaml.safe_dump({"name": name, "version": 1, "extends": "default", **document}),
        encoding="utf-8",
    )
    return path


def waiver(
    rule: str, subject: str, expires: datetime.date, reason: str, ticket: str
) -> dict[str, str]:
    return {
        "rule": rule,
        "subject": subject,
        "reason": reason,
        "ticket": ticket,
        **_WAIVER,
        "expires": expires.isoformat(),
    }


# The example's only setting override (serialization-data signing) turned into the dedicated
# hybrid app's (Global / ExchangeOnpremAsThirdPartyAppId, Enabled=true), in Active Directory
# (SettingOverride.xml) and in effect on each server (VariantConfigurationOverrides.xml).
_DEDICATED_APP_OVERRIDE = (
    ("EnableSigningVerification", "EnableExchangeHybrid3PAppFeature"),
    ('ComponentName">Data<', 'ComponentName">Global<'),
    ("ComponentName&gt;Data&lt;", "ComponentName&gt;Global&lt;"),
    ("EnableSerializationDataSigning", "ExchangeOnpremAsThirdPartyAppId"),
)


def with_dedicated_app(export: bytes) -> bytes:
    """An example override export (UTF-16, as Export-Clixml writes it) with the dedicated-app
    override in place of the signing override."""
    text = export.decode("utf-16")
    for old, new in _DEDICATED_APP_OVERRIDE:
        text = text.replace(old, new)
    return text.encode("utf-16")


def enable_dedicated_app(exports: Path) -> None:
    """The bundled example's hybrid trust made clean (its EvoSTS already names the dedicated
    app; the dedicated-app override was missing: HT001)."""
    for name in ("SettingOverride.xml", "VariantConfigurationOverrides.xml"):
        for path in sorted(exports.glob(f"*/{name}")):
            path.write_bytes(with_dedicated_app(path.read_bytes()))


def copy_example(root: Path) -> Path:
    """The bundled example exports under `root/exports` (EX01, EX02), with EX02's EWS
    web.config missing `Callback` (the servers disagree on a vdir no change touches) and the
    dedicated hybrid app enabled (the recipe's findings are the PA and WC ones; the example's
    own HT001 is the bundled example's, see tests/test_renderers.py)."""
    exports = root / "exports"
    shutil.copytree(examples_dir(), exports)
    enable_dedicated_app(exports)
    ews = exports / "EX02" / EWS_CONFIG
    text = ews.read_bytes()
    assert EWS_DEFAULT in text, "the bundled EX02 EWS web.config no longer holds the default"
    ews.write_bytes(text.replace(EWS_DEFAULT, EWS_DEFAULT.replace(b"|Callback", b""), 1))
    return exports


def recipe_waivers(as_of: datetime.date = AS_OF) -> list[dict[str, str]]:
    return [
        waiver(
            "WC001",
            f"web-config:EX02:{API_VDIR}",
            as_of + datetime.timedelta(days=120),
            "EX02 is the pilot server for the hybrid REST test until the end of the quarter.",
            "CHG-2040",
        ),
        waiver(
            "PA005",
            "partner-application:11111111-2222-3333-4444-555555555555",
            as_of + datetime.timedelta(days=12),
            "The line-of-business connector is retired next month.",
            "CHG-2041",
        ),
    ]


def write_recipe(root: Path) -> tuple[Path, Path]:
    """The recipe's exports and the pilot policy: (exports folder, policy file)."""
    exports = copy_example(root)
    policy = write_policy(root / "policy.yaml", waivers=recipe_waivers())
    return exports, policy


def _hostile(text: str) -> str:
    return f"{text} {HOSTILE}"


def _profiles_config(value: str, server: str) -> str:
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<configuration>\n  <appSettings>\n'
        f'    <add key="OAuthHttpModule.Profiles" value={quoteattr(value)} />\n'
        f"  </appSettings>\n  <!-- {server} -->\n</configuration>\n"
    )


def write_hostile(root: Path) -> tuple[Path, Path]:
    """Hostile values in every input and policy text, and a truncated export (INCOMPLETE)."""
    exports = root / "exports"
    server = "EX01"
    folder = exports / server
    (folder / REST_CONFIG).parent.mkdir(parents=True)
    tokens = f"{API_DEFAULT}|V1S2SAppOnly| V1AppOnly||{XSS}|{IMG}"
    (folder / REST_CONFIG).write_text(_profiles_config(tokens, server), encoding="utf-8")
    act_as = ["Mail.Read", "Mail.Send", "User.Read.All", XSS, IMG]
    apps = [
        {
            "ApplicationIdentifier": GRAPH_ID,
            "Name": _hostile("Microsoft Graph"),
            "Enabled": True,
            "LinkedAccount": JS_URL,
            "AppOnlyPermissions": ["Mail.Read", "Mail.Send", STYLE_BREAK, LONG, XSS],
            "ActAsPermissions": act_as,
        },
        {
            "ApplicationIdentifier": "99999999-0000-0000-0000-00000000abcd",
            "Name": _hostile(CONTROL + LONG),
            "Enabled": True,
            "AppOnlyPermissions": [f"Mail.Read {IMG}"],
            "ActAsPermissions": [],
        },
    ]
    (folder / "PartnerApplication.json").write_text(json.dumps(apps, indent=2), encoding="utf-8")
    # A Format-List export cut at $FormatEnumerationLimit: the evidence is incomplete.
    (folder / "PartnerApplication-truncated.txt").write_text(
        f"Name                 : Truncated {XSS}{IMG}\n"
        "ApplicationIdentifier : 77777777-0000-0000-0000-000000000001\n"
        "Enabled              : True\n"
        "AppOnlyPermissions   : {Mail.Read, Mail.Write, Mail.Send, User.Read...}\n"
        "ActAsPermissions     : {Mail.Read}\n",
        encoding="utf-8",
    )
    # Binary (NUL bytes): the file is refused, an input problem (EV002) at its path.
    (folder / "PartnerApplication-binary.txt").write_text(
        f"Name : {_hostile('Unreadable')}\n", encoding="utf-8"
    )
    # The hostile values are in the partner-application and web.config inputs: the hybrid trust
    # is left out on purpose (its hostile inputs: tests/hardening/test_trust_hostile.py).
    policy = write_policy(
        root / "policy.yaml",
        scope={"assess": ["partner-applications", "web-config"]},
        waivers=[
            waiver(
                "WC001",
                f"web-config:{server}:{API_VDIR}",
                AS_OF + datetime.timedelta(days=5),
                _hostile("pilot"),
                JS_URL,
            )
            | {"owner": _hostile("owner@contoso.example"), "approver": IMG},
        ],
    )
    return exports, policy


def write_applications(root: Path, count: int) -> Path:
    """One export with `count` applications, each granted a forbidden and an unapproved
    app-only permission, none known to the policy (PA001, PA003, PA005 for each)."""
    exports = root / "exports"
    exports.mkdir(parents=True)
    apps = [
        {
            "ApplicationIdentifier": f"{index:08x}-0000-4000-8000-000000000000",
            "Name": f"Connector {index:05d}",
            "Enabled": True,
            "AppOnlyPermissions": ["Mail.Send", "Calendars.Read"],
            "ActAsPermissions": ["Mail.Send", "Calendars.Read"],
        }
        for index in range(1, count + 1)
    ]
    (exports / "PartnerApplication.json").write_text(json.dumps(apps), encoding="utf-8")
    return exports


def large_report(root: Path, findings: int) -> Report:
    """An audit of `write_applications` with about `findings` findings (four per application)."""
    return audit(write_applications(root, max(1, findings // 4)))
