"""Editorial quality marks of a resource: what the statistics' quality view counts.

Three marks, each a yes or no, declared against `kb.schema`:

- `territoire`: the sheet names its territory (region, department, communes or QPV);
  a region inferred from the centre does not count;
- `intertitres`: a practice sheet or a write-up (`schema.SECTION_TYPES`) has every
  recommended section (`schema.RECOMMENDED_SECTIONS`, as `##` headings, accents, case and
  spaces ignored); other types are not concerned (`intertitres-attendus` is absent);
- `resume`: the summary's length is within `schema.SUMMARY_LENGTH`.
"""

from __future__ import annotations

import re

from . import schema
from .model import Resource
from .vocabulary import fold

TERRITORY = "territoire"
SECTIONS_EXPECTED = "intertitres-attendus"
SECTIONS = "intertitres"
SUMMARY = "resume"
MARKS = (TERRITORY, SECTIONS_EXPECTED, SECTIONS, SUMMARY)


def _normalised(title: str) -> str:
    text = fold(title.replace("œ", "oe").replace("Œ", "oe").replace("æ", "ae"))
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text).split())


_RECOMMENDED = frozenset(_normalised(title) for title in schema.RECOMMENDED_SECTIONS)


def has_territory(resource: Resource) -> bool:
    t = resource.territoire
    return bool(t.region or t.departement or t.communes or t.qpv)


def expects_sections(resource: Resource) -> bool:
    return resource.type in schema.SECTION_TYPES


def has_all_sections(resource: Resource) -> bool:
    present = {_normalised(title) for title in resource.intertitres}
    return _RECOMMENDED <= present


def summary_length_ok(resource: Resource) -> bool:
    low, high = schema.SUMMARY_LENGTH
    return low <= len(resource.resume) <= high


def quality_marks(resource: Resource) -> list[str]:
    """The marks a resource earns, in `MARKS` order."""
    marks = []
    if has_territory(resource):
        marks.append(TERRITORY)
    if expects_sections(resource):
        marks.append(SECTIONS_EXPECTED)
        if has_all_sections(resource):
            marks.append(SECTIONS)
    if summary_length_ok(resource):
        marks.append(SUMMARY)
    return marks
