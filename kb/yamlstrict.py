"""Strict, line-aware YAML for front-matter.

PyYAML's SafeLoader is safe against code execution but still accepts anchors and aliases
(alias bombs) and unbounded nesting. Here both are refused while composing, and each
top-level value is constructed separately so that one bad value (e.g. `2024-13-45`,
which raises ValueError, not YAMLError) is reported at its own line.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml
from yaml.events import AliasEvent, CollectionEndEvent, CollectionStartEvent, ScalarEvent
from yaml.nodes import MappingNode, Node, ScalarNode

MAX_DEPTH = 8


class StrictYamlError(Exception):
    """A YAML problem with its (0-based, YAML-relative) line."""

    def __init__(self, message: str, line: int | None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


# libyaml when available (7x faster on front-matter), with the same checks either way.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _check_events(text: str) -> None:
    """Refuse anchors, aliases and deep nesting before anything is built from them."""
    depth = 0
    for event in yaml.parse(text, Loader=_LOADER):
        line = event.start_mark.line if event.start_mark else None
        if isinstance(event, AliasEvent):
            raise StrictYamlError(
                "les alias YAML (*nom) ne sont pas acceptés : recopiez la valeur", line
            )
        anchor = getattr(event, "anchor", None)
        if anchor and isinstance(event, (ScalarEvent, CollectionStartEvent)):
            raise StrictYamlError(
                f"les ancres YAML (&{anchor}) ne sont pas acceptées : recopiez la valeur", line
            )
        if isinstance(event, CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                raise StrictYamlError(
                    f"imbrication trop profonde (plus de {MAX_DEPTH} niveaux)", line
                )
        elif isinstance(event, CollectionEndEvent):
            depth -= 1


@dataclass(frozen=True, slots=True)
class Entry:
    """One top-level `key: value` of a front-matter block, with 0-based YAML lines."""

    key: Any
    key_line: int
    value_node: Node


class StrictDocument:
    """A composed front-matter mapping whose values are constructed on demand."""

    def __init__(self, loader: yaml.SafeLoader, root: Node | None) -> None:
        self._loader = loader
        self.root = root

    @property
    def is_mapping(self) -> bool:
        return isinstance(self.root, MappingNode)

    def entries(self) -> list[Entry]:
        assert isinstance(self.root, MappingNode)
        result = []
        for key_node, value_node in self.root.value:
            key = key_node.value if isinstance(key_node, ScalarNode) else None
            result.append(Entry(key, key_node.start_mark.line, value_node))
        return result

    def construct(self, node: Node) -> Any:
        """Python value of a node; raises StrictYamlError at the node's line on bad values."""
        try:
            return self._loader.construct_object(node, deep=True)
        except (ValueError, OverflowError, yaml.YAMLError) as exc:
            raise StrictYamlError(_constructor_message(node, exc), node.start_mark.line) from exc


def _constructor_message(node: Node, exc: Exception) -> str:
    if isinstance(node, ScalarNode) and node.tag.endswith(":timestamp"):
        return f"date invalide « {node.value} » (format attendu AAAA-MM-JJ, date existante)"
    return f"valeur YAML invalide « {getattr(node, 'value', '')} »"


def compose(text: str) -> StrictDocument:
    """Parse YAML text into a StrictDocument; raise StrictYamlError on syntax errors."""
    try:
        _check_events(text)
        loader = _LOADER(text)
        root = loader.get_single_node()
    except StrictYamlError:
        raise
    except yaml.MarkedYAMLError as exc:
        reason = exc.problem or exc.context or "syntaxe incorrecte"
        mark = exc.problem_mark or exc.context_mark
        if "<stream end>" in reason or "end of stream" in reason:
            # The parser noticed at the very end; the cause is where the construct began.
            mark = exc.context_mark or mark
        line = mark.line if mark else None
        if mark is not None and mark.index >= len(text.rstrip()):
            # Still at the end: blame the last written line, where the construct was left open.
            line = len(text.rstrip().split("\n")) - 1
        message = _translate(reason)
        if not message.startswith("imbrication"):
            message = f"YAML invalide : {message}"
        raise StrictYamlError(message, line) from None
    except yaml.YAMLError as exc:
        raise StrictYamlError(f"YAML invalide : {exc}", None) from None
    except RecursionError:
        raise StrictYamlError("imbrication trop profonde", None) from None
    return StrictDocument(loader, root)


# The most frequent PyYAML messages, in French; others are shown as they are.
_TRANSLATIONS = {
    "mapping values are not allowed here": (
        "deux-points inattendus (mettez la valeur entre guillemets si elle contient « : »)"
    ),
    "could not find expected ':'": "deux-points « : » attendus après la clé",
    "found a tab character": "tabulation interdite : indentez avec des espaces",
    "found character '\\t' that cannot start any token": (
        "tabulation interdite : indentez avec des espaces"
    ),
    "found character that cannot start any token": (
        "caractère inattendu en début de valeur (@, %, ` : mettez la valeur entre guillemets)"
    ),
    "found undefined alias": "alias YAML non défini",
    "found unexpected end of stream": "fin de texte inattendue (guillemet non fermé ?)",
    "found duplicate anchor": "ancre YAML en double",
    "expected the node content, but found '<stream end>'": (
        "valeur incomplète (crochet, accolade ou guillemet non fermé ?)"
    ),
    "did not find expected ',' or ']'": "liste entre crochets mal formée : « , » ou « ] » attendu",
    "expected ',' or ']'": "liste entre crochets mal formée : « , » ou « ] » attendu",
    "did not find expected ',' or '}'": "accolades mal formées : « , » ou « } » attendu",
    "expected ',' or '}'": "accolades mal formées : « , » ou « } » attendu",
    "did not find expected '-' indicator": "élément de liste mal placé ou mal indenté",
    "expected <block end>, but found '-'": "élément de liste mal indenté",
    "did not find expected key": "indentation incohérente (une clé était attendue)",
}


def _translate(reason: str) -> str:
    # libyaml and the pure-Python parser word some messages slightly differently.
    reason = reason.replace("not allowed in this context", "not allowed here")
    if "maximum nesting depth" in reason:
        return f"imbrication trop profonde (plus de {MAX_DEPTH} niveaux)"
    for english, french in _TRANSLATIONS.items():
        if reason.startswith(english):
            return french
    if reason.startswith("expected <block end>"):
        return "indentation incohérente"
    if reason.startswith("while scanning a quoted scalar") or "quoted scalar" in reason:
        return "guillemet non fermé"
    return reason
