"""The rule registry: every rule auditor runs, in a fixed order, each declared once.

Built-in rules come from the rule modules listed in `BUILTIN_MODULES`, each module's `RULES`
tuple in its own order (EV, PA, WC, FL, HT, WV). Rules of another package are registered the same
way, through an entry point of the group `auditor.rules` that names a module whose `RULES`
tuple lists its `@rule` declarations (`auditor.rules.declaration`), e.g. in `pyproject.toml`:

    [project.entry-points."auditor.rules"]
    hybrid-trust = "contoso_auditor_rules.hybrid_trust"

Registered rules follow the built-ins, ordered by entry-point name, then by their `RULES`
order. Nothing else needs an edit: the effective policy (`auditor.policy.load_policy`),
`auditor rules`, `rules explain`, SARIF rule help and `docs/rules/` read the registry.
`registered_rules()` reads the entry points once per process; a duplicate id, a module without
`RULES` or an entry point that cannot be loaded raises `RuleRegistryError` naming it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from importlib.metadata import EntryPoint, entry_points

from auditor.rules import (
    evidence,
    fleet,
    partner_apps,
    trust_authserver,
    trust_builds,
    trust_certificates,
    trust_cloud,
    trust_override,
    waivers,
    web_config,
)
from auditor.rules.declaration import Rule

ENTRY_POINT_GROUP = "auditor.rules"

# The modules holding the built-in rules, in catalogue order.
BUILTIN_MODULES = (
    evidence,
    partner_apps,
    web_config,
    fleet,
    trust_override,  # HT001-HT006
    trust_authserver,  # HT007-HT009
    trust_builds,  # HT101
    trust_certificates,  # HT111-HT114
    trust_cloud,  # HT121, HT122
    waivers,
)


class RuleRegistryError(Exception):
    """A rule that cannot be registered: a duplicate id, or a plugin that does not load."""


@dataclass(frozen=True, slots=True)
class RuleRegistry:
    """The registered rules in catalogue order; `get` is loud about an unknown id."""

    rules: tuple[Rule, ...]

    def __post_init__(self) -> None:
        seen: set[str] = set()
        for declared in self.rules:
            if declared.id in seen:
                raise RuleRegistryError(f"rule {declared.id} is registered twice")
            seen.add(declared.id)

    def __iter__(self) -> Iterator[Rule]:
        return iter(self.rules)

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(declared.id for declared in self.rules)

    def get(self, rule_id: str) -> Rule:
        for declared in self.rules:
            if declared.id == rule_id:
                return declared
        raise KeyError(f"unknown rule id {rule_id!r}")


def rules_of(module: object, *, name: str) -> tuple[Rule, ...]:
    """The `RULES` tuple of a rule module (or any object holding one), checked."""
    declared = getattr(module, "RULES", None)
    if not isinstance(declared, tuple) or not all(isinstance(item, Rule) for item in declared):
        raise RuleRegistryError(
            f"{name}: expected a module with a `RULES` tuple of @rule declarations"
        )
    return declared


BUILTIN_RULES: tuple[Rule, ...] = tuple(
    declared for module in BUILTIN_MODULES for declared in rules_of(module, name=module.__name__)
)


@lru_cache(maxsize=1)
def registered_rules() -> RuleRegistry:
    """The built-in rules, then every rule registered through an `auditor.rules` entry point."""
    return RuleRegistry((*BUILTIN_RULES, *_plugin_rules(entry_points(group=ENTRY_POINT_GROUP))))


def _plugin_rules(points: Iterable[EntryPoint]) -> Iterator[Rule]:
    for point in sorted(points, key=lambda point: (point.name, point.value)):
        where = f"entry point {point.name!r} ({point.value}) of group {ENTRY_POINT_GROUP!r}"
        try:
            module = point.load()
        except Exception as error:  # a plugin's own failure, reported as the plugin's
            raise RuleRegistryError(
                f"{where} cannot be loaded: {type(error).__name__}: {error}"
            ) from error
        yield from rules_of(module, name=where)
