"""A dotted module name means the module: `import auditor.parsers.sniff as s` gives the module.

Python resolves `import a.b.c as m` (and `from a.b import c`) through the attribute `c` of the
package `a.b`. When the package's `__init__` imports a function of the same name
(`from auditor.parsers.sniff import sniff`), that attribute becomes the function and the module
can no longer be named. Every submodule of auditor must stay reachable under its own name.
"""

from __future__ import annotations

import importlib
import pkgutil
import types

import auditor


def _submodules() -> list[types.ModuleType]:
    return [
        importlib.import_module(info.name)
        for info in pkgutil.walk_packages(auditor.__path__, "auditor.")
    ]


def test_every_submodule_is_the_attribute_of_its_package() -> None:
    shadowed = {}
    for module in _submodules():
        package_name, _, leaf = module.__name__.rpartition(".")
        attribute = getattr(importlib.import_module(package_name), leaf)
        if attribute is not module:
            shadowed[module.__name__] = attribute
    assert shadowed == {}


def test_the_sniff_module_is_importable_by_its_dotted_name() -> None:
    import auditor.parsers.sniff as sniff_module

    assert isinstance(sniff_module, types.ModuleType)
    assert callable(sniff_module.sniff)
