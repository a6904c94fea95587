"""The change-board HTML report: one self-contained page rendered from a `Report`.

This package shapes the report into what the page shows and hands it to the Jinja2 templates in
`templates/html/`, which build every piece of markup. It displays decisions and never makes them:
permission and token marks are the rules' judgements (`report.judgements`), the proposed change
is the plan (`report.change_sets`, `report.skipped`); nothing here reads the policy's patterns or
matches a name against one. What it does compute is arithmetic on those values (how many findings
the plan fixes, which servers change), grouping for scale (an application identical in 60 exports
shown once, vdirs that match the shipped default folded into one sentence, inputs identical on
many servers on one row) and text (a server list as ranges, a token list as a diff).

One module per section of the page, beside its partial in `templates/html/partials/`:
`verdict` and `plan` (both shown by `summary.html.j2`), `overview` (the counts), `applications`,
`fleet` (the servers x vdirs grid), `trust` (the hybrid-trust checklist, when chosen),
`findings`, `waivers`, `scripts`, `inputs`. Shared by all of them: `context` (the lookups
built once per page), `text` (escaping and text helpers); `page` assembles the sections and
renders the template.

Jinja2 autoescaping is on for every template. The only `Markup` made here is rule texts with
their backticks turned into `<code>` (escaped first) and the running print header, whose only
report value (the change id) is CSS-escaped code point by code point. Script sources are plain
text with line numbers, escaped by the template like every other value. Before escaping, control,
bidirectional-override and zero-width characters are replaced by visible stand-ins, so a hostile
name can neither hide characters nor reorder what the board reads.

The page loads nothing: inline CSS only (allowed by its SHA-256 in the Content-Security-Policy
meta tag), no script, no URL that the browser fetches. Rendering is pure: the same `Report`
gives the same bytes; the only date on the page is `report.as_of`.
"""

from __future__ import annotations

from auditor.render.html.page import render_html
from auditor.render.html.text import inline_code, numbered_source, plural, visible
from auditor.render.story import ranges

__all__ = ["inline_code", "numbered_source", "plural", "ranges", "render_html", "visible"]
