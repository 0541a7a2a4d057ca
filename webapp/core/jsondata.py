"""JSON sent by strangers (webhook bodies, OAI-PMH resumption tokens), parsed safely.

Python's parser recurses once per nesting level: 100,000 `[` raise `RecursionError`, which
no caller expects. The depth is counted first, outside strings, and refused beyond
`MAX_DEPTH`; every problem is a `ValueError` (French message), like any invalid JSON.
"""

from __future__ import annotations

import json
import re
from typing import Any

MAX_DEPTH = 32  # forge push payloads nest 5 or 6 levels; our own tokens 1

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKET = re.compile(r"[\[\]{}]")


class TooDeep(ValueError):
    """JSON nested beyond the accepted depth."""


def nesting_depth(text: str) -> int:
    """The deepest nesting of arrays and objects in `text` (brackets in strings ignored)."""
    depth = deepest = 0
    for bracket in _BRACKET.findall(_STRING.sub('""', text)):
        if bracket in "[{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def parse_json(data: bytes | str, max_depth: int = MAX_DEPTH) -> Any:
    """The value of a JSON document; `ValueError` when invalid, `TooDeep` when nested
    beyond `max_depth`."""
    if isinstance(data, bytes):  # as json.loads does (UnicodeDecodeError is a ValueError)
        data = data.decode(json.detect_encoding(data))
    text = data
    if nesting_depth(text) > max_depth:
        raise TooDeep(f"contenu JSON trop imbriqué ({max_depth} niveaux au plus)")
    try:
        return json.loads(text)
    except RecursionError:  # not expected below MAX_DEPTH: a last guard
        raise TooDeep(f"contenu JSON trop imbriqué ({max_depth} niveaux au plus)") from None
