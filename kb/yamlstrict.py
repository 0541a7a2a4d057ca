r"""Strict, line-aware YAML for front-matter.

PyYAML's SafeLoader is safe against code execution but still accepts anchors and aliases
(alias bombs), unbounded nesting, tags and escaped control characters (`"\e"`). Here all of
them are refused while composing, with a French message at their line, and each top-level
value is constructed separately so that one bad value (e.g. `2024-13-45`, which raises
ValueError, not YAMLError) is reported at its own line.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml
from yaml.events import AliasEvent, CollectionEndEvent, CollectionStartEvent, ScalarEvent
from yaml.nodes import CollectionNode, MappingNode, Node, ScalarNode

from .french import number, shorten
from .schema import FORBIDDEN_CHARACTERS, forbidden_character_message

MAX_DEPTH = 8
_CORE_TAG = "tag:yaml.org,2002:"
# Explicit tags that change nothing a safe loader would not do anyway (`!!str 05`).
_ALLOWED_TAGS = frozenset(
    {"!", *(_CORE_TAG + name for name in ("str", "int", "float", "bool", "null", "seq", "map"))}
)
# Longer integers are refused by Python itself (sys.get_int_max_str_digits); far shorter than
# that is already not a number anyone means.
_MAX_DIGITS = 100
TAB_MESSAGE = "tabulation interdite dans l'en-tête YAML : indentez avec des espaces"


class StrictYamlError(Exception):
    """A YAML problem with its (0-based, YAML-relative) line."""

    def __init__(self, message: str, line: int | None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


# libyaml when available (7x faster on front-matter), with the same checks either way.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _written_tag(tag: str) -> str:
    return "!!" + tag[len(_CORE_TAG) :] if tag.startswith(_CORE_TAG) else tag


def _check_events(text: str) -> None:
    """Refuse anchors, aliases, tags, control characters and deep nesting before anything
    is built from them."""
    depth = 0
    for event in yaml.parse(text, Loader=_LOADER):
        line = event.start_mark.line if event.start_mark else None
        tag = getattr(event, "tag", None)
        if tag is not None and tag not in _ALLOWED_TAGS:
            raise StrictYamlError(
                f"étiquette YAML « {shorten(_written_tag(tag), 60)} » refusée : écrivez la "
                "valeur sans étiquette « !… » (texte, nombre, date ou liste)",
                line,
            )
        if isinstance(event, ScalarEvent):
            control = FORBIDDEN_CHARACTERS.search(event.value)
            if control:
                raise StrictYamlError(forbidden_character_message(control.group()), line)
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
            message, line = _constructor_message(self._loader, node)
            raise StrictYamlError(message, line) from exc


def _scalars(node: Node) -> list[ScalarNode]:
    if isinstance(node, ScalarNode):
        return [node]
    if isinstance(node, MappingNode):
        return [n for pair in node.value for child in pair for n in _scalars(child)]
    if isinstance(node, CollectionNode):
        return [n for child in node.value for n in _scalars(child)]
    return []


def _constructor_message(loader: yaml.SafeLoader, node: Node) -> tuple[str, int]:
    """A French message for a value that could not be built, and the line of the culprit
    (a scalar inside a list or mapping), never a repr of PyYAML's nodes."""
    for scalar in _scalars(node):
        line = scalar.start_mark.line
        if scalar.tag.endswith(":int") and len(scalar.value) > _MAX_DIGITS:
            digits = sum(c.isdigit() for c in scalar.value)
            return (
                f"nombre trop long ({number(digits)} chiffres) : s'il s'agit d'un texte, "
                "mettez-le entre guillemets",
                line,
            )
        if scalar.tag.endswith(":timestamp"):
            try:
                loader.construct_yaml_timestamp(scalar)  # reads the node, stores nothing
            except ValueError:
                return (
                    f"date invalide « {shorten(scalar.value)} » (format attendu AAAA-MM-JJ, "
                    "date existante)",
                    line,
                )
    if isinstance(node, ScalarNode):
        return f"valeur YAML invalide « {shorten(node.value)} »", node.start_mark.line
    return "valeur YAML invalide", node.start_mark.line


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
        if mark is not None and _is_tab_problem(text, mark.index):
            raise StrictYamlError(TAB_MESSAGE, mark.line) from None
        message = _translate(reason)
        if message != TAB_MESSAGE and not message.startswith("imbrication"):
            message = f"YAML invalide : {message}"
        raise StrictYamlError(message, line) from None
    except yaml.reader.ReaderError as exc:
        # Characters YAML refuses to read (the loader reports control characters first).
        line = text.count("\n", 0, exc.position)
        character = chr(exc.character) if isinstance(exc.character, int) else "?"
        raise StrictYamlError(forbidden_character_message(character), line) from None
    except yaml.YAMLError as exc:
        raise StrictYamlError(f"YAML invalide : {exc}", None) from None
    except RecursionError:
        raise StrictYamlError("imbrication trop profonde", None) from None
    return StrictDocument(loader, root)


def _is_tab_problem(text: str, index: int) -> bool:
    """Whether the parser stopped on a tab, or on a line indented with a tab."""
    if text[index : index + 1] == "\t":
        return True
    start = text.rfind("\n", 0, index) + 1
    line = text[start : text.find("\n", start) if "\n" in text[start:] else len(text)]
    return "\t" in line[: len(line) - len(line.lstrip(" \t"))]


# The most frequent PyYAML messages, in French; others are shown as they are.
_TRANSLATIONS = {
    "mapping values are not allowed here": (
        "deux-points inattendus (mettez la valeur entre guillemets si elle contient « : »)"
    ),
    "could not find expected ':'": "deux-points « : » attendus après la clé",
    "found a tab character": TAB_MESSAGE,
    "found character '\\t' that cannot start any token": TAB_MESSAGE,
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
