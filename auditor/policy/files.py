"""Reading and validating one policy file: every message a policy author sees when it is wrong.

A bad policy raises `PolicyError`, whose text names the file, the line and column, the path
inside the document (`applications[0].approved_app_only[2]`) and what was expected. Reading is
defensive: at most `MAX_POLICY_BYTES`, UTF-8 only (a UTF-8 BOM is accepted), one YAML document,
safe scalars only (strings, integers, booleans, null), no anchors or aliases (no alias bombs),
duplicate keys rejected with both lines, dates kept as text (`2026-02-30` is a message, not a
crash). `auditor.policy.validation` then checks the document against the schema.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.reader import Reader

from auditor import resources

MAX_POLICY_BYTES = 1024 * 1024
MAX_NESTING = 32
DEFAULT_POLICY = "default"

_SURROGATE = (
    "the text holds an escape for a lone surrogate (\\ud800-\\udfff), which is not a character"
)
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

DocPath = tuple[str | int, ...]


class PolicyError(Exception):
    """A policy that cannot be used; `str()` is one message naming file, line, path and why.

    `errors` holds every error found in the file, sorted by line (this one first), so one run
    of `policy validate` reports them all; an error found alone holds itself.
    """

    errors: tuple[PolicyError, ...]

    def __init__(
        self,
        problem: str,
        *,
        path: str | None = None,
        line: int | None = None,
        column: int | None = None,
        where: str | None = None,
    ) -> None:
        self.problem = problem
        self.path = path
        self.line = line
        self.column = column
        self.where = where
        self.errors = (self,)
        super().__init__(self._text())

    def _text(self) -> str:
        place = ""
        if self.path is not None:
            place = self.path
            if self.line is not None:
                place += f":{self.line}"
                if self.column is not None:
                    place += f":{self.column}"
        parts = [part for part in (place, self.where) if part]
        return ": ".join([*parts, self.problem])


def default_policy_path() -> Path:
    try:
        return resources.default_policy_path()
    except FileNotFoundError as error:
        raise PolicyError(f"the shipped default policy is missing: {error}") from None


# --- reading one file -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PolicyFile:
    """One policy file as read: display path, parsed document, where each node starts."""

    display: str
    resolved: Path
    document: dict[str, Any]
    marks: dict[DocPath, tuple[int, int]]  # value node start (1-based line, column)
    key_marks: dict[DocPath, tuple[int, int]]  # key node start for mapping entries
    canonical: bytes

    def error(self, problem: str, doc_path: DocPath = (), *, key: bool = False) -> PolicyError:
        mark = (self.key_marks if key else self.marks).get(doc_path) or self.marks.get(doc_path)
        line, column = mark if mark else (None, None)
        return PolicyError(
            problem, path=self.display, line=line, column=column, where=format_doc_path(doc_path)
        )

    def line(self, doc_path: DocPath) -> int | None:
        mark = self.marks.get(doc_path)
        return mark[0] if mark else None


class _Refusing(Composer):
    """Composes nodes only and refuses anchors and aliases (no alias bombs)."""

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        event = self.peek_event()  # type: ignore[attr-defined]  # the parser's, in the loader
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            raise _Refused(
                "YAML anchors and aliases are not allowed in a policy; write the value out",
                event.start_mark,
            )
        return super().compose_node(parent, index)


class _Loader(_Refusing, yaml.SafeLoader):
    """Safe YAML that composes nodes only, keeps dates as text and refuses anchors and aliases."""


_IMPLICIT_RESOLVERS = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.yaml_implicit_resolvers = _IMPLICIT_RESOLVERS

_LIBYAML: bool = getattr(yaml, "__with_libyaml__", False)  # PyYAML built with libyaml
if _LIBYAML:

    class _FastLoader(_Refusing, yaml.CSafeLoader):
        """`_Loader` with libyaml's scanner and parser: the same nodes, the same resolvers.

        The composer is PyYAML's Python one (listed first), reading libyaml's events, so the
        refusal of anchors and aliases is the same code. (A plain scalar's style is '' here and
        None there; nothing reads it.)
        """

        def __init__(self, stream: str) -> None:
            yaml.CSafeLoader.__init__(self, stream)
            Composer.__init__(self)

    _FastLoader.yaml_implicit_resolvers = _IMPLICIT_RESOLVERS


class _Refused(Exception):
    def __init__(self, problem: str, mark: yaml.Mark | None) -> None:
        super().__init__(problem)
        self.problem = problem
        self.mark = mark


_ALLOWED_TAGS = frozenset(
    {
        "tag:yaml.org,2002:map",
        "tag:yaml.org,2002:seq",
        "tag:yaml.org,2002:str",
        "tag:yaml.org,2002:int",
        "tag:yaml.org,2002:bool",
        "tag:yaml.org,2002:null",
        "tag:yaml.org,2002:float",
    }
)


def read_policy_file(path: Path, display: str) -> PolicyFile:
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_POLICY_BYTES + 1)
    except FileNotFoundError:
        raise PolicyError("policy file not found", path=display) from None
    except OSError as error:
        raise PolicyError(f"cannot read the policy file ({error.strerror})", path=display) from None
    if len(data) > MAX_POLICY_BYTES:
        raise PolicyError(
            f"policy file is larger than {MAX_POLICY_BYTES} bytes; a policy is a short text file",
            path=display,
        )
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise PolicyError("policy file is UTF-16; save it as UTF-8", path=display, line=1)
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        column = error.start - (data.rfind(b"\n", 0, error.start) + 1) + 1
        raise PolicyError(
            f"policy file is not UTF-8 (byte 0x{data[error.start]:02x} cannot be decoded); "
            "save it as UTF-8",
            path=display,
            line=line,
            column=column,
        ) from None
    canonical = text.replace("\r\n", "\n").encode("utf-8")
    document, marks, key_marks = _parse_yaml(text, display)
    return PolicyFile(display, path.resolve(), document, marks, key_marks, canonical)


def _fast_node(text: str) -> yaml.Node | None:
    """The document's node composed with libyaml, or None when that is not certain to be right.

    libyaml words its errors differently and accepts a few characters PyYAML refuses: any
    text with such a character, or that libyaml cannot read (whatever the reason), is left to
    the pure-Python loader, whose answer (node or located message) is the one auditor gives.
    """
    if not _LIBYAML or Reader.NON_PRINTABLE.search(text) is not None:
        return None
    try:
        loader = _FastLoader(text)
    except (yaml.YAMLError, ValueError):
        return None
    try:
        node: yaml.Node | None = loader.get_single_node()
        return node
    except (_Refused, yaml.YAMLError, RecursionError):
        return None
    finally:
        loader.dispose()


def _parse_yaml(
    text: str, display: str
) -> tuple[dict[str, Any], dict[DocPath, tuple[int, int]], dict[DocPath, tuple[int, int]]]:
    node = _fast_node(text)
    if node is None:
        node = _slow_node(text, display)
    if node is None:
        raise PolicyError(
            "policy file is empty; expected a mapping with name and version", path=display, line=1
        )
    builder = _Builder(display)
    document = builder.value(node, (), 0)
    if not isinstance(document, dict):
        raise _mark_error(
            f"expected a mapping at the top of the policy, got {kind_of(document)}",
            display,
            node.start_mark,
        )
    return document, builder.marks, builder.key_marks


def _slow_node(text: str, display: str) -> yaml.Node | None:
    """The document's node composed by PyYAML in Python; every YAML error located."""
    try:
        loader = _Loader(text)
    except yaml.reader.ReaderError as error:
        raise _reader_error(error, text, display) from None
    try:
        node = loader.get_single_node()
    except _Refused as refused:
        raise _mark_error(refused.problem, display, refused.mark) from None
    except yaml.MarkedYAMLError as error:
        problem = f"not valid YAML: {_yaml_problem(error)}"
        raise _mark_error(problem, display, error.problem_mark or error.context_mark) from None
    except yaml.reader.ReaderError as error:
        raise _reader_error(error, text, display) from None
    except yaml.YAMLError as error:
        raise PolicyError(f"not valid YAML: {error}", path=display) from None
    except RecursionError:
        raise PolicyError("policy is nested too deeply", path=display) from None
    finally:
        loader.dispose()
    return node


class _Builder:
    """Turns composed YAML nodes into plain values, recording where every node starts."""

    def __init__(self, display: str) -> None:
        self.display = display
        self.marks: dict[DocPath, tuple[int, int]] = {}
        self.key_marks: dict[DocPath, tuple[int, int]] = {}
        self._constructor = SafeConstructor()

    def value(self, node: yaml.Node, doc_path: DocPath, depth: int) -> Any:
        self.marks[doc_path] = _position(node.start_mark)
        if depth > MAX_NESTING:
            line, column = _position(node.start_mark)
            raise PolicyError(
                f"policy is nested more than {MAX_NESTING} levels deep",
                path=self.display,
                line=line,
                column=column,
            )
        if node.tag not in _ALLOWED_TAGS:
            raise self._error(
                f"unsupported YAML tag {node.tag!r}; use plain text, numbers, true/false, "
                "lists and mappings",
                doc_path,
                node.start_mark,
            )
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, doc_path, depth)
        if isinstance(node, yaml.SequenceNode):
            return [
                self.value(item, (*doc_path, index), depth + 1)
                for index, item in enumerate(node.value)
            ]
        assert isinstance(node, yaml.ScalarNode)
        if not _surrogate_free(node.value):
            raise self._error(_SURROGATE, doc_path, node.start_mark)
        try:
            return self._constructor.construct_object(node, deep=True)
        except (ValueError, yaml.YAMLError):
            raise self._error(
                f"cannot read the value {node.value!r}", doc_path, node.start_mark
            ) from None

    def _mapping(self, node: yaml.MappingNode, doc_path: DocPath, depth: int) -> dict[str, Any]:
        result: dict[str, Any] = {}
        first_line: dict[str, int] = {}
        for key_node, value_node in node.value:
            if not (
                isinstance(key_node, yaml.ScalarNode) and key_node.tag == "tag:yaml.org,2002:str"
            ):
                shown = key_node.value if isinstance(key_node, yaml.ScalarNode) else "..."
                raise self._error(
                    f"expected a text key, got {shown!r}; quote it", doc_path, key_node.start_mark
                )
            key = str(key_node.value)
            if not _surrogate_free(key):
                raise self._error(_SURROGATE, doc_path, key_node.start_mark)
            line = key_node.start_mark.line + 1
            if key in first_line:
                raise self._error(
                    f"duplicate key {key!r} (first on line {first_line[key]}, again on line "
                    f"{line}); a key may appear only once",
                    (*doc_path, key),
                    key_node.start_mark,
                )
            first_line[key] = line
            self.key_marks[(*doc_path, key)] = _position(key_node.start_mark)
            result[key] = self.value(value_node, (*doc_path, key), depth + 1)
        return result

    def _error(self, problem: str, doc_path: DocPath, mark: yaml.Mark) -> PolicyError:
        line, column = _position(mark)
        return PolicyError(
            problem, path=self.display, line=line, column=column, where=format_doc_path(doc_path)
        )


def _reader_error(error: yaml.reader.ReaderError, text: str, display: str) -> PolicyError:
    """A character YAML refuses (NUL, other control characters), located in the text."""
    position = max(0, min(error.position, len(text)))
    line = text.count("\n", 0, position) + 1
    column = position - (text.rfind("\n", 0, position) + 1) + 1
    character = error.character
    code = ord(character) if isinstance(character, str) else int(character)
    return PolicyError(
        f"the policy contains a character YAML does not allow (U+{code:04X}); save it as "
        "plain UTF-8 text",
        path=display,
        line=line,
        column=column,
    )


def _surrogate_free(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _yaml_problem(error: yaml.MarkedYAMLError) -> str:
    problem = error.problem or ""
    if error.context and problem.startswith("but "):
        return f"{error.context}, {problem}"
    if error.context and problem:
        return f"{problem} ({error.context})"
    return problem or error.context or "syntax error"


def _position(mark: yaml.Mark) -> tuple[int, int]:
    return mark.line + 1, mark.column + 1


def _mark_error(problem: str, display: str, mark: yaml.Mark | None) -> PolicyError:
    if mark is None:
        return PolicyError(problem, path=display)
    line, column = _position(mark)
    return PolicyError(problem, path=display, line=line, column=column)


def kind_of(value: Any) -> str:
    """A value's YAML kind in words, for a message (`a list`, `a text`)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a text"
    if isinstance(value, list):
        return "a list"
    return "a mapping"


def format_doc_path(doc_path: DocPath) -> str:
    """A path inside the document as a reader writes it: `applications[0].name`."""
    text = ""
    for part in doc_path:
        if isinstance(part, int):
            text += f"[{part}]"
        elif _IDENTIFIER.match(part):
            text += f".{part}" if text else part
        else:
            text += f"[{json.dumps(part)}]"
    return text
