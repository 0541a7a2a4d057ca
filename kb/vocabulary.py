"""The controlled vocabularies (YAML files in kb/vocabularies/): the one place that knows them."""

from __future__ import annotations

import difflib
import functools
import hashlib
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import yaml

VOCABULARY_NAMES = (
    "piliers",
    "types",
    "thematiques",
    "dispositifs",
    "publics",
    "regions",
    "departements",
    "statuts",
    "formats",
    "modes",
    "etats",
)


def fold(text: str) -> str:
    """Lower-case and strip accents: `Cohésion Sociale` -> `cohesion sociale`."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


@dataclass(frozen=True, slots=True)
class Term:
    """One vocabulary entry. `extra` holds the other fields of the entry (sigle, definition...)."""

    id: str
    libelle: str
    extra: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)

    def get(self, key: str, default: Any = None) -> Any:
        return self.extra.get(key, default)


@dataclass(frozen=True)
class Vocabulary:
    name: str
    terms: dict[str, Term]

    def __contains__(self, term_id: object) -> bool:
        return term_id in self.terms

    def __iter__(self) -> Iterator[Term]:
        return iter(self.terms.values())

    def __len__(self) -> int:
        return len(self.terms)

    def label(self, term_id: str) -> str:
        term = self.terms.get(term_id)
        return term.libelle if term else term_id

    def suggest(self, value: str) -> str | None:
        """Closest id for a mistyped value, also matching labels (`Cohésion sociale`)."""
        folded = fold(value).strip()
        for term in self:
            if folded in (fold(term.libelle), fold(term.id), fold(str(term.get("sigle") or ""))):
                return term.id
        by_folded_id = {fold(t.id): t.id for t in self}
        close = difflib.get_close_matches(folded, list(by_folded_id), n=1, cutoff=0.75)
        if close:
            return by_folded_id[close[0]]
        by_label = {fold(t.libelle): t.id for t in self}
        close = difflib.get_close_matches(folded, list(by_label), n=1, cutoff=0.75)
        if close:
            return by_label[close[0]]
        return self._suggest_by_words(folded)

    def _suggest_by_words(self, folded: str) -> str | None:
        """A value that is a word, or the start of a word, of one id or label: `emploi` ->
        `emploi-insertion`, `logement` -> `habitat-logement`. Whole words of the id count
        most, then words of the label, then beginnings of words (3 letters at least); no
        suggestion when two terms match as well (`ville`: three dispositifs)."""
        wanted = _words(folded)
        if not wanted:
            return None
        scores: dict[str, int] = {}
        for term in self:
            id_words = _words(fold(term.id))
            label_words = _words(fold(term.libelle)) | _words(fold(str(term.get("sigle") or "")))
            score = 0
            for word in wanted:
                if word in id_words:
                    score += 3
                elif word in label_words:
                    score += 2
                elif len(word) >= 3 and any(w.startswith(word) for w in id_words | label_words):
                    score += 1
                else:
                    score = 0
                    break
            if score:
                scores[term.id] = score
        if not scores:
            return None
        top = max(scores.values())
        best = [term_id for term_id, score in scores.items() if score == top]
        return best[0] if len(best) == 1 else None


# Words that say nothing about a term ("Emploi et insertion").
_STOP_WORDS = frozenset(
    {"a", "au", "aux", "d", "de", "des", "du", "en", "et", "l", "la", "le", "les", "ou", "par"}
)


def _words(folded: str) -> set[str]:
    return {w for w in re.split(r"[^a-z0-9]+", folded) if w and w not in _STOP_WORDS}


@dataclass(frozen=True)
class Vocabularies:
    piliers: Vocabulary
    types: Vocabulary
    thematiques: Vocabulary
    dispositifs: Vocabulary
    publics: Vocabulary
    regions: Vocabulary
    departements: Vocabulary
    statuts: Vocabulary
    formats: Vocabulary
    modes: Vocabulary
    etats: Vocabulary
    thesaurus: tuple[tuple[str, ...], ...]
    # Derivational families that stemming leaves apart (médiation / médiateur / médiatrice).
    families: tuple[tuple[str, ...], ...] = ()
    # The source of each thesaurus class (same order as `thesaurus`), and what each names.
    thesaurus_sources: tuple[str, ...] = ()
    sources: dict[str, str] = field(default_factory=dict)

    def __getitem__(self, name: str) -> Vocabulary:
        if name not in VOCABULARY_NAMES:
            raise KeyError(name)
        return getattr(self, name)


# LibYAML's safe loader when PyYAML was built with it: the pure-Python one took half a second
# on the thesaurus, paid by every `kb` command at start-up.
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _read_yaml(name: str) -> Any:
    path = resources.files("kb") / "vocabularies" / f"{name}.yaml"
    return yaml.load(path.read_text(encoding="utf-8"), Loader=_SAFE_LOADER)  # noqa: S506


def _load_vocabulary(name: str) -> Vocabulary:
    key = "code" if name in ("regions", "departements") else "id"
    terms: dict[str, Term] = {}
    for entry in _read_yaml(name):
        term_id = str(entry[key])
        extra = {k: v for k, v in entry.items() if k not in (key, "libelle")}
        terms[term_id] = Term(term_id, entry["libelle"], extra)
    return Vocabulary(name, terms)


def fingerprint() -> str:
    """Changes whenever a vocabulary, the thesaurus file or the territorial reference in
    force (the imported QPV list) changes: the index then holds other labels and names."""
    from .territories import current

    return f"{_files_fingerprint()}-{current().fingerprint}"


@functools.cache
def _files_fingerprint() -> str:
    digest = hashlib.sha256()
    for name in (*VOCABULARY_NAMES, "thesaurus"):
        digest.update((resources.files("kb") / "vocabularies" / f"{name}.yaml").read_bytes())
    return digest.hexdigest()[:16]


@functools.cache
def load_vocabularies() -> Vocabularies:
    """Vocabularies shipped with the package, loaded once per process."""
    loaded = {name: _load_vocabulary(name) for name in VOCABULARY_NAMES}
    thesaurus = _read_yaml("thesaurus") or {}
    classes = thesaurus.get("classes") or ()
    return Vocabularies(
        **loaded,
        thesaurus=tuple(tuple(str(expr) for expr in entry["termes"]) for entry in classes),
        families=tuple(tuple(str(w) for w in family) for family in thesaurus.get("familles") or ()),
        thesaurus_sources=tuple(str(entry["source"]) for entry in classes),
        sources={str(k): str(v) for k, v in (thesaurus.get("sources") or {}).items()},
    )
