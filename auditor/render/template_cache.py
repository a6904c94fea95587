"""The compiled templates kept between runs: Jinja's bytecode cache, or none when it cannot be.

Compiling the HTML report's templates costs more CPU than anything else an audit does once:
130 ms of an audit whose floor (`benchmarks/fleet.py`, 100 servers) is 390 ms, against 4.5 ms
to load them compiled (each `Environment.get_template` of `templates/html`, best of three
fresh processes, `time.process_time`); a whole `audit --jobs 1` of that fleet took 0.90x the
CPU with the cache warm (`farm-bench -n 7` paired runs, median; spread 0.87x to 0.96x, load
average 4 to 5). So the renderers' environments share
`bytecode_cache()`: Jinja's `FileSystemBytecodeCache` in its own per-user folder (on POSIX
`<tmp>/_jinja2-cache-<uid>`, created mode 0700 and refused unless the user owns it with that
mode; on Windows the user's temporary folder), files `auditor-<key>.cache`. An entry is named
by the template's name and file, the versions of auditor and Jinja and the environment's
options (`_fingerprint`: Jinja itself names it by the template alone, so an environment
compiled with other options would read the code of another), and used only when the checksum
of the template's source and the Python bytecode version match; otherwise the template is
compiled again and the entry replaced (written to a temporary file and renamed). The output
is the same either way (`tests/render/test_template_cache.py`).

A cache that cannot be made, read or written is no cache: the template is compiled as before,
never an error. `AUDITOR_TEMPLATE_CACHE=0` turns it off.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import pickle

import jinja2

from auditor import __version__

ENVIRONMENT_SWITCH = "AUDITOR_TEMPLATE_CACHE"


class _TolerantCache(jinja2.FileSystemBytecodeCache):
    """Jinja's file cache, its entries named by what the compiled code depends on, every
    failure to read or write an entry ignored."""

    def get_bucket(
        self, environment: jinja2.Environment, name: str, filename: str | None, source: str
    ) -> jinja2.bccache.Bucket:
        # Jinja names an entry by the template's name and file alone; the code compiled from
        # one source also depends on the environment's options, so they name it too.
        identity = f"{_fingerprint(environment)}|{name}|{filename}"
        key = hashlib.sha256(identity.encode("utf-8", "surrogatepass")).hexdigest()
        bucket = jinja2.bccache.Bucket(environment, key, self.get_source_checksum(source))
        self.load_bytecode(bucket)
        return bucket

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        try:
            super().load_bytecode(bucket)
        except (OSError, EOFError, ValueError, TypeError, pickle.UnpicklingError):
            bucket.reset()

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        with contextlib.suppress(OSError):
            super().dump_bytecode(bucket)


def _fingerprint(environment: jinja2.Environment) -> str:
    """What the code compiled from a template depends on besides its source: the versions of
    auditor and Jinja, the environment's syntax and compile options, its filters and tests."""
    finalize = environment.finalize
    autoescape = environment.autoescape
    return repr(
        (
            __version__,
            jinja2.__version__,
            environment.block_start_string,
            environment.block_end_string,
            environment.variable_start_string,
            environment.variable_end_string,
            environment.comment_start_string,
            environment.comment_end_string,
            environment.line_statement_prefix,
            environment.line_comment_prefix,
            environment.trim_blocks,
            environment.lstrip_blocks,
            environment.newline_sequence,
            environment.keep_trailing_newline,
            environment.optimized,
            environment.is_async,
            None if finalize is None else f"{finalize.__module__}.{finalize.__qualname__}",
            autoescape if isinstance(autoescape, bool) else repr(autoescape),
            sorted(environment.extensions),
            sorted(environment.filters),
            sorted(environment.tests),
        )
    )


@functools.cache
def bytecode_cache() -> jinja2.BytecodeCache | None:
    """The bytecode cache of the renderers' Jinja environments, or None (no cache)."""
    if os.environ.get(ENVIRONMENT_SWITCH, "").strip() == "0":
        return None
    try:
        return _TolerantCache(pattern="auditor-%s.cache")
    except (OSError, RuntimeError):  # no folder that is safe to use
        return None
