"""The JSON texts written without the generic encoder are the generic encoder's, byte for byte.

`render_inventory` writes the appSettings of web.configs by a format string and
`canonical.dumps` indents by its own walk (both for speed on a fleet); whatever the values, the
text must be exactly what `json.dumps` writes, so `auditor parse --json`, findings.json, plan.json
and SARIF never change with the way they are written.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from auditor.model import (
    AppSetting,
    Evidence,
    InputFormat,
    Inventory,
    OAuthProfiles,
    SourceFile,
    WebConfig,
)
from auditor.parsers import read_inventory
from auditor.render.json_ import render_inventory


def generic(inventory: Inventory) -> str:
    document = inventory.to_json()
    return json.dumps(document, sort_keys=True, ensure_ascii=True, separators=(",", ":")) + "\n"


text = st.text(max_size=12)  # every code point: quotes, backslashes, controls, surrogates
maybe_text = st.none() | text
settings_strategy = st.builds(
    AppSetting,
    key=text,
    value=text,
    line=st.integers(min_value=0, max_value=10**6),
    raw=text,
    location=maybe_text,
    path=maybe_text,
    sha256=maybe_text,
)
profiles = st.none() | st.builds(
    OAuthProfiles,
    raw=text,
    tokens=st.lists(text, max_size=3).map(tuple),
    line=st.integers(min_value=1, max_value=99),
    evidence=st.builds(Evidence, path=text, line=st.none(), raw=text, sha256=text),
)
web_configs = st.builds(
    WebConfig,
    server=text,
    vdir=text,
    path=text,
    sha256=text,
    app_settings=st.lists(settings_strategy, max_size=4).map(tuple),
    oauth_profiles=profiles,
)
inventories = st.builds(
    Inventory,
    inputs=st.lists(
        st.builds(SourceFile, path=text, sha256=text, format=st.sampled_from(InputFormat)),
        max_size=2,
    ).map(tuple),
    web_configs=st.lists(web_configs, max_size=4).map(tuple),
    skipped=st.lists(text, max_size=2).map(tuple),
)


@given(inventories)
@settings(max_examples=300, deadline=None)
def test_inventory_text_is_the_encoders_for_any_values(inventory: Inventory) -> None:
    assert render_inventory(inventory) == generic(inventory)


def test_inventory_text_is_the_encoders_for_the_exchange_2019_files(css_exchange: Path) -> None:
    inventory = read_inventory([css_exchange / "E19"])
    assert inventory.web_configs and any(config.app_settings for config in inventory.web_configs)
    assert render_inventory(inventory) == generic(inventory)


def test_an_empty_inventory_is_the_encoders() -> None:
    assert render_inventory(Inventory()) == generic(Inventory())


def _json_values() -> st.SearchStrategy[Any]:
    leaves = (
        st.none()
        | st.booleans()
        | st.integers(min_value=-(10**20), max_value=10**20)
        | st.floats(allow_nan=False, allow_infinity=False)
        | st.text(max_size=8)
    )
    return st.recursive(
        leaves,
        lambda children: (
            st.lists(children, max_size=4)
            | st.lists(children, max_size=4).map(tuple)
            | st.dictionaries(st.text(max_size=6), children, max_size=4)
        ),
        max_leaves=30,
    )


@given(_json_values())
@settings(max_examples=500, deadline=None)
def test_canonical_text_is_the_encoders_for_any_document(document: Any) -> None:
    from auditor.render.canonical import dumps

    expected = json.dumps(document, indent=2, sort_keys=True, ensure_ascii=True) + "\n"
    assert dumps(document) == expected


def test_canonical_text_of_special_values_is_the_encoders() -> None:
    from auditor.render.canonical import dumps

    for document in (
        float("nan"),
        float("inf"),
        [float("-inf"), -0.0, 1e300, 5e-324],
        {"a": {}, "b": [], "c": [{}], "d": [[]]},
        {"\u2019": "\ud800", "": None},
        {3: "int keys", 1: [], -2: {}},
        {1.5: "float keys", 0.5: None, float("inf"): 1},
        {True: "bool keys", False: 0},
        {None: "a None key"},
    ):
        assert dumps(document) == json.dumps(document, indent=2, sort_keys=True) + "\n"


def test_findings_json_of_every_report_follows_the_published_schema(tmp_path: Path) -> None:
    """`auditor schema findings` is the schema every findings.json validates against: the
    recipe report, the hostile one (escapes, control characters, waivers) and one with a
    baseline comparison."""
    import dataclasses

    import html_scenarios as scenarios
    from jsonschema import Draft202012Validator

    from auditor.model import BaselineComparison, FixedFinding
    from auditor.render.json_ import render_findings
    from auditor.resources import document_schema

    validator = Draft202012Validator(document_schema("findings"))
    recipe = scenarios.audit(*scenarios.write_recipe(tmp_path / "recipe"))
    hostile = scenarios.audit(*scenarios.write_hostile(tmp_path / "hostile"))
    compared = dataclasses.replace(
        recipe,
        baseline=BaselineComparison(
            file="findings.json",
            new=frozenset({recipe.findings[0].fingerprint}),
            fixed=(FixedFinding("f" * 64, "PA002", "high", "partner-application:x"),),
        ),
    )
    for report in (recipe, hostile, compared):
        validator.validate(json.loads(render_findings(report)))
    document = json.loads(render_findings(compared))
    assert document["findings"][0]["baseline"] == "new"
    assert document["baseline"]["fixed"][0]["baseline"] == "absent"
