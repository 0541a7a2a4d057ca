"""French text analysis, identical at index and query time.

tokenise -> lower-case -> elision split -> stop words -> accent folding -> Snowball stemming.
Folding comes before stemming so that `securite` and `sécurité` index the same term.
"""

from __future__ import annotations

import functools
import re
import unicodedata

import snowballstemmer
from whoosh.analysis import Filter, LowercaseFilter, RegexTokenizer, StopFilter

# Words joined by apostrophes stay one token here (`l'insertion`, `aujourd'hui`); the
# elision filter then removes the elided article or pronoun.
TOKEN_PATTERN = r"\w+(?:['’]\w+)*"
ELISIONS = ("l", "d", "qu", "j", "n", "s", "c", "m", "t", "jusqu", "lorsqu", "puisqu", "quoiqu")
_ELISION = re.compile(r"^(?:" + "|".join(ELISIONS) + r")['’](?=\w)")

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


@functools.lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    return _STEMMER.stemWord(word)


@functools.lru_cache(maxsize=200_000)
def fold_word(word: str) -> str:
    return fold(word)


class ElisionFilter(Filter):
    """`l'insertion` -> `insertion`, `qu’elle` -> `elle` (straight or typographic apostrophe)."""

    def __call__(self, tokens):
        for token in tokens:
            text = _ELISION.sub("", token.text)
            if text != token.text:
                token.text = text
            yield token


class FoldFilter(Filter):
    def __call__(self, tokens):
        for token in tokens:
            token.text = fold_word(token.text)
            yield token


class FrenchStemFilter(Filter):
    is_morph = True

    def __call__(self, tokens):
        for token in tokens:
            if not token.stopped:
                token.text = stem(token.text)
            yield token


class SpellingFormFilter(Filter):
    """Emit `folded|original` so that a folded correction can be shown with its accents."""

    def __call__(self, tokens):
        for token in tokens:
            token.text = f"{fold_word(token.text)}|{token.text}"
            yield token


def _base():
    return RegexTokenizer(TOKEN_PATTERN) | LowercaseFilter() | ElisionFilter()


def french_analyzer():
    """Full analysis for searchable text fields."""
    return _base() | StopFilter(stoplist=STOP_WORDS, minsize=1) | FoldFilter() | FrenchStemFilter()


def spelling_analyzer():
    """Folded, unstemmed words: the lexicon that corrections are drawn from."""
    return _base() | StopFilter(stoplist=STOP_WORDS, minsize=3) | FoldFilter()


def spelling_form_analyzer():
    """`folded|accented` pairs, to display corrections with their real accents."""
    return _base() | StopFilter(stoplist=STOP_WORDS, minsize=3) | SpellingFormFilter()


FRENCH = french_analyzer()


def terms(text: str) -> list[str]:
    """The index terms of a text, in order (used for query building and highlighting)."""
    return [token.text for token in FRENCH(text)]


def words(text: str) -> list[str]:
    """The words of a text as a user typed them (tokenised, no other change)."""
    return re.findall(TOKEN_PATTERN, text)
