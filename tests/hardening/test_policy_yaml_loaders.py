"""The policy loader's libyaml path gives exactly what the pure-Python path gives, or nothing.

`auditor.policy.files` composes a policy with libyaml when it can (ten times faster) and with
PyYAML's Python parser otherwise; every refusal and located message comes from the Python
path. These tests hold the fast path to that: for every YAML file of the repository and every
hostile policy of test_policy_hostile.py it either declines (None) or composes the very node
tree the Python path composes, with the same tags, values and marks (line and column).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from auditor.policy import PolicyError, files
from tests.hardening.test_policy_hostile import CASES

ROOT = Path(__file__).resolve().parents[2]
YAML_FILES = sorted(
    path.relative_to(ROOT)
    for folder in ("policies", "auditor", "tests")
    for path in (ROOT / folder).rglob("*.yaml")
)
MORE = [
    "name: a\nversion: 1\nkeys: {a: 1, b: [x, 'y', \"z\\u00e9\"], c: ~}\n",
    "name: a\r\nversion: 1\r\nlist:\r\n  - 2026-01-01\r\n  - 0x1F\r\n  - 1e3\r\n  - yes\r\n",
    "name: |\n  folded text\n  é and 😀\nversion: 1\nother: >-\n  a\n  b\n",
    "a: 1\nb: &x 2\n",
    "a: [1, 2\n",
    "- just\n- a list\n",
    "",
    "# only a comment\n",
    "name: a\nname: b\n",
    'k: "\\ud800"\n',
    "k: 'tab\there'\n",
    "\tk: 1\n",
    "k: !!str 1\nj: !!int '2'\n",
    "? complex\n: key\n",
]


def _shape(node: yaml.Node | None) -> object:
    """A node tree as plain data: type, tag, scalar value and style, start and end marks.

    libyaml gives a plain scalar the style '' where Python gives None: nothing reads the style
    (the builder takes tag and value), so the two count as one.
    """
    if node is None:
        return None
    marks = (
        node.start_mark.line,
        node.start_mark.column,
        node.end_mark.line,
        node.end_mark.column,
    )
    if isinstance(node, yaml.ScalarNode):
        return ("scalar", node.tag, node.value, node.style or None, marks)
    if isinstance(node, yaml.SequenceNode):
        return ("sequence", node.tag, [_shape(item) for item in node.value], marks)
    assert isinstance(node, yaml.MappingNode)
    pairs = [(_shape(key), _shape(value)) for key, value in node.value]
    return ("mapping", node.tag, pairs, marks)


def _python(text: str) -> object:
    try:
        return _shape(files._slow_node(text, "policy.yaml"))
    except PolicyError as error:
        return error


def _agrees(text: str) -> None:
    fast = files._fast_node(text)
    if fast is None:
        return  # declined: the Python path answers
    expected = _python(text)
    assert not isinstance(expected, PolicyError), f"libyaml read what Python refuses: {expected}"
    assert _shape(fast) == expected


def test_libyaml_is_available_in_the_wheels_auditor_ships_with() -> None:
    assert files._LIBYAML
    assert files._fast_node((ROOT / "policies" / "default.yaml").read_text("utf-8")) is not None


@pytest.mark.parametrize("path", YAML_FILES, ids=str)
def test_libyaml_composes_every_yaml_file_of_the_repository_as_python_does(path: Path) -> None:
    data = (ROOT / path).read_bytes().removeprefix(b"\xef\xbb\xbf")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        pytest.skip("not UTF-8: refused before YAML is read")
    _agrees(text)


@pytest.mark.parametrize("text", MORE)
def test_libyaml_agrees_or_declines_on_odd_documents(text: str) -> None:
    _agrees(text)


@pytest.mark.parametrize(("name", "content"), [(case[0], case[1]) for case in CASES])
def test_libyaml_agrees_or_declines_on_every_hostile_policy(name: str, content: bytes) -> None:
    try:
        text = content.removeprefix(b"\xef\xbb\xbf").decode("utf-8")
    except UnicodeDecodeError:
        pytest.skip("not UTF-8: refused before YAML is read")
    _agrees(text)


def test_anchors_and_aliases_are_declined_by_the_fast_path() -> None:
    assert files._fast_node("a: &x 1\nb: *x\n") is None
    with pytest.raises(PolicyError, match="anchors and aliases"):
        files._slow_node("a: &x 1\nb: *x\n", "policy.yaml")
