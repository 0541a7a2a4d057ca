"""French text analysis, identical at index and query time.

tokenise -> Unicode normalisation -> lower-case -> elision split -> stop words -> accent
folding -> Snowball stemming -> word families.
Folding comes before stemming so that `securite` and `sécurité` index the same term.

Normalisation (`normalise`) is the one used everywhere text is compared: indexing,
highlighting, spelling and the query parser. Typographic apostrophes become straight ones,
French and curly quotes become `"`, non-breaking and narrow spaces become spaces, and
compatibility forms (full-width letters, `ﬁ`) become ordinary ones (NFKC).
"""

from __future__ import annotations

import functools
import re
import unicodedata

import snowballstemmer
from whoosh.analysis import Token, Tokenizer

from kb.vocabulary import load_vocabularies

# Straight, typographic (’), modifier letter (ʼ), opening (‘), grave, acute and prime: all
# are typed or pasted as apostrophes.
APOSTROPHES = "'’ʼ‘`´′"
# French guillemets and curly double quotes delimit phrases like straight ones.
DOUBLE_QUOTES = '"«»“”„‟'
_TYPOGRAPHY = str.maketrans(
    {**{c: "'" for c in APOSTROPHES[1:]}, **{c: '"' for c in DOUBLE_QUOTES[1:]}}
)

# Words joined by apostrophes stay one token here (`l'insertion`, `aujourd’hui`); the
# elision filter then removes the elided article or pronoun.
TOKEN_PATTERN = r"\w+(?:[" + re.escape(APOSTROPHES) + r"]\w+)*"
_TOKEN = re.compile(TOKEN_PATTERN)
ELISIONS = ("l", "d", "qu", "j", "n", "s", "c", "m", "t", "jusqu", "lorsqu", "puisqu", "quoiqu")
_ELISION = re.compile(r"^(?:" + "|".join(ELISIONS) + r")'(?=\w)")
_WRITTEN_ELISION = re.compile(
    r"^(?:" + "|".join(ELISIONS) + r")[" + re.escape(APOSTROPHES) + r"](?=\w)", re.IGNORECASE
)


def normalise(text: str) -> str:
    """The one Unicode normalisation of the project: apostrophes and quotes made straight,
    then NFKC (non-breaking and narrow spaces become spaces, full-width and compatibility
    forms their ordinary letters; `œ` and `æ` are kept, `fold` expands them)."""
    return unicodedata.normalize("NFKC", text.translate(_TYPOGRAPHY))


def strip_elision(word: str) -> str:
    """`l'insertion` -> `insertion` (a normalised, lower-case word)."""
    return _ELISION.sub("", word)


# Our own list: grammatical words only. Unlike Whoosh's French list it keeps `été` (summer,
# and "Quartiers d'été") and contains no English words. Unaccented spellings are included
# because users type without accents.
STOP_WORDS = frozenset(
    """
a à ai aie aient aies ait as au aux avaient avais avait avec avez aviez avions avoir avons
ayant ayez ayons c ça ce ceci cela celle celles celui ces cet cette ceux d dans de des du
elle elles en es est et étaient étais était étant êtes étiez étions etaient etais etait etant
etes etiez etions eu eue eues eûmes eurent eus eusse eut eux fûmes furent fus fut il ils j je
l la le les leur leurs lui m ma mais me même meme mes moi mon n ne nos notre nous on ont ou où
par pas pour qu que quel quelle quelles quels qui s sa sans se sera serait ses si son sont
sur ta te tes toi ton tu un une vos votre vous y ici là la dont lors ainsi afin entre chez
cet sous vers
""".split()
)


def fold(text: str) -> str:
    """Strip accents and ligatures: `Œuvre éducative` -> `Oeuvre educative`."""
    text = text.replace("œ", "oe").replace("Œ", "OE").replace("æ", "ae").replace("Æ", "AE")
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


_STEMMER = snowballstemmer.stemmer("french")
# Words Snowball stems wrongly for this field: `loyer` (rent) would join `loi` (law), and
# `lois` (too short for the plural rule) would stay apart from `loi`.
STEM_EXCEPTIONS = {"loyer": "loyer", "lois": "loi"}


@functools.lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    """Snowball's stem of a folded word, plural `s` removed first: Snowball stems some
    plurals apart from their singular (`emplois`/`emploi`, `potagers`/`potager`)."""
    if len(word) >= 5 and word.endswith("s") and not word.endswith("ss"):
        word = word[:-1]
    return STEM_EXCEPTIONS.get(word) or _STEMMER.stemWord(word)


@functools.cache
def family_roots() -> dict[str, str]:
    """Stem -> stem of the first word of its family, for the derivational families that
    stemming leaves apart (`médiation`, `médiateur`, `médiatrice`), from the thesaurus."""
    roots: dict[str, str] = {}
    for family in load_vocabularies().families:
        stems = [stem(fold_word(strip_elision(normalise(w).lower()))) for w in family]
        for member in stems[1:]:
            if member != stems[0]:
                roots.setdefault(member, stems[0])
    return roots


@functools.lru_cache(maxsize=200_000)
def fold_word(word: str) -> str:
    return fold(word)


@functools.cache
def protected_acronyms() -> frozenset[str]:
    """Acronyms whose lower-case form is an ordinary word (`PRE` / `pré`), from the
    vocabularies. Written in capitals, they are indexed as a distinct, upper-case term."""
    found = set()
    for term in load_vocabularies().dispositifs:
        if term.get("ambigu") and term.get("sigle"):
            found.add(str(term.get("sigle")))
    return frozenset(found)


class WordTokenizer(Tokenizer):
    """Tokenise, then turn each word into its term with a cached per-word function.

    For searchable text (`kind="terme"`) the function lower-cases, splits elisions, drops
    stop words, folds accents and stems, in that order (`analyse_word`); for the spelling
    lexicon it keeps unstemmed words (`spelling_word`, `spelling_form`). The steps are fused
    into the tokenizer because every Whoosh filter layer costs a Python generator step per
    token, and indexing time is mostly spent here. Positions are renumbered over the words
    kept, so that phrases match across stop words (`programme de réussite` = `programme
    réussite`), as Whoosh's StopFilter does.
    """

    def __init__(self, kind: str = "terme") -> None:
        self.kind = kind

    def __call__(
        self,
        value,
        positions=False,
        chars=False,
        keeporiginal=False,
        removestops=True,
        start_pos=0,
        start_char=0,
        tokenize=True,
        mode="",
        **kwargs,
    ):
        token = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        if not tokenize:
            token.original = token.text = value
            token.boost = 1.0
            if positions:
                token.pos = start_pos
            if chars:
                token.startchar, token.endchar = start_char, start_char + len(value)
            yield token
            return
        word_term = _WORD_FUNCTIONS[self.kind]
        position = start_pos
        for match in _TOKEN.finditer(value):
            term = word_term(match.group(0))
            if term is None:
                continue
            token.text = term
            token.boost = 1.0
            token.stopped = False
            if keeporiginal:
                token.original = match.group(0)
            if positions:
                token.pos = position
                position += 1
            if chars:
                token.startchar = start_char + match.start()
                token.endchar = start_char + match.end()
            yield token


@functools.lru_cache(maxsize=500_000)
def lower_word(word: str) -> str:
    """A token normalised, lower-cased, without its elided article: `L’Insertion` ->
    `insertion`. The common first step of analysis, highlighting and spelling."""
    return strip_elision(normalise(word).lower())


@functools.lru_cache(maxsize=500_000)
def analyse_word(word: str) -> str | None:
    """The index term of one token as written, or None for a stop word."""
    if word in protected_acronyms():
        return word
    if not word.isascii():
        normalised = normalise(word)
        if normalised in protected_acronyms():  # full-width `ＰＲＥ`
            return normalised
    lower = lower_word(word)
    if lower in STOP_WORDS:
        return None
    term = stem(fold_word(lower))
    return family_roots().get(term, term)


@functools.lru_cache(maxsize=500_000)
def spelling_word(word: str) -> str | None:
    """The folded form of a word for the spelling lexicon, None if it is not a candidate."""
    lower = lower_word(word)
    if len(lower) < 3 or lower in STOP_WORDS:
        return None
    return fold_word(lower)


@functools.lru_cache(maxsize=500_000)
def spelling_form(word: str) -> str | None:
    """`folded|accented`, so that a folded correction can be shown with its accents."""
    folded = spelling_word(word)
    if folded is None:
        return None
    return f"{folded}|{lower_word(word)}"


def french_analyzer():
    """Full analysis for searchable text fields."""
    return WordTokenizer("terme")


def spelling_analyzer():
    """Folded, unstemmed words: the lexicon that corrections are drawn from."""
    return WordTokenizer("orth")


def spelling_form_analyzer():
    """`folded|accented` pairs, to display corrections with their real accents."""
    return WordTokenizer("graphie")


_WORD_FUNCTIONS = {"terme": analyse_word, "orth": spelling_word, "graphie": spelling_form}


def terms(text: str) -> list[str]:
    """The index terms of a text, in order: exactly what `french_analyzer` produces."""
    return [t for w in _TOKEN.findall(text) if (t := analyse_word(w)) is not None]


def words(text: str) -> list[str]:
    """The words of a text as a user typed them (tokenised, no other change)."""
    return _TOKEN.findall(text)


def word_spans(text: str):
    """(start, end, word) of each word of a text as written, the elided article left out
    of the span (`d’emploi` -> `emploi`): what highlighting marks."""
    for match in _TOKEN.finditer(text):
        word = match.group(0)
        if word.isalnum():  # no apostrophe: the common case, kept cheap
            yield match.start(), match.end(), word
            continue
        elided = _WRITTEN_ELISION.match(word)
        yield match.start() + (elided.end() if elided else 0), match.end(), word


def replace_words(text: str, replacements: dict[str, str]) -> str:
    """`text` with some of its words (as tokenised) replaced."""
    return _TOKEN.sub(lambda match: replacements.get(match.group(0), match.group(0)), text)
