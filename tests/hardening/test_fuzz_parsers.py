"""Every parser's fuzz targets with a small CI budget (the long runs: tests/fuzz/fuzz_parsers.py).

Round trips (generate, write like PowerShell, parse back, compare) and no-crash mutation targets
for Format-List, CLIXML, web.config, JSON and CSV. `AUDITOR_FUZZ_EXAMPLES` raises the budget.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "fuzz"))

from fuzz_targets import TARGETS, Target

BUDGET = {"round-trip": 30, "mutations": 30, "bytes": 30}
SCALE = int(os.environ.get("AUDITOR_FUZZ_EXAMPLES", "1"))


@pytest.mark.parametrize("target", TARGETS, ids=lambda t: f"{t.parser}-{t.name}")
def test_fuzz_target(target: Target) -> None:
    test = settings(
        max_examples=BUDGET[target.name] * SCALE,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )(given(target.strategy)(target.check))
    test()


# --- what the long runs found (see the README section on fuzzing) ------------------------------


def test_clixml_joins_surrogate_pairs_next_to_a_lone_surrogate() -> None:
    from auditor.parsers.clixml import decode_string

    assert decode_string("_xD800__xD800__xDC00_") == "\ud800\U00010000"


def test_a_zero_width_no_break_space_inside_a_value_is_kept() -> None:
    from fuzz_targets import raw

    from auditor.parsers import json_

    data = (
        '{"Name": "x", "ApplicationIdentifier": "00000003-0000-0000-c000-000000000000", '
        '"ActAsPermissions": [], "AppOnlyPermissions": ["Mail.Se\ufeffnd"]}'
    ).encode()

    (app,) = json_.parse(raw(data)).partner_applications

    assert app.app_only_permissions.values == ("Mail.Se\ufeffnd",)
