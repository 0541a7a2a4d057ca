"""« Vouliez-vous dire ? »: corrections drawn from the corpus's own words, shown with accents.

The `orth` field holds folded, unstemmed words (candidates are found by edit distance on
what users type without accents); the `graphie` field holds `folded|accented` pairs, from
which the most frequent accented spelling is shown (`renouvelement` -> `renouvellement`,
`reusite` -> `réussite`).
"""

from __future__ import annotations

from .analysis import STOP_WORDS, fold, lower_word, words

# Shorter words are left alone: one letter away from a three-letter word (`ski`) there is
# always another (`soi`), which would answer a question nobody asked.
MIN_CORRECTED_LENGTH = 4
# Two letters away only for long words: among short ones, two changes reach too many other
# words (`chasse` -> `clause`).
LONG_WORD = 8


def _display_form(reader, folded: str) -> str:
    best, best_freq = folded, 0
    prefix = f"{folded}|"
    for raw in reader.expand_prefix("graphie", prefix):
        form = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        frequency = reader.doc_frequency("graphie", form)
        if frequency > best_freq:
            best, best_freq = form[len(prefix) :], frequency
    return best


def _correct_word(reader, folded: str) -> str | None:
    max_distance = 1 if len(folded) < LONG_WORD else 2
    for distance in range(1, max_distance + 1):
        candidates = [
            (reader.doc_frequency("orth", c), c)
            for c in (
                raw.decode("utf-8") if isinstance(raw, bytes) else raw
                for raw in reader.terms_within("orth", folded, distance, prefix=1)
            )
            if c != folded
        ]
        if candidates:
            return max(candidates)[1]
    return None


def corrections(reader, text: str) -> list[tuple[str, str | None]]:
    """Each word of a query with its correction (None when the word is known, too short,
    an acronym or a number, or when nothing close enough exists)."""
    found: list[tuple[str, str | None]] = []
    for word in words(text):
        lower = lower_word(word)  # the same normalisation as the lexicon's
        folded = fold(lower)
        if (
            len(folded) < MIN_CORRECTED_LENGTH
            or lower in STOP_WORDS
            or word.isupper()
            or folded.isdigit()
            or reader.doc_frequency("orth", folded) > 0
        ):
            found.append((word, None))
            continue
        replacement = _correct_word(reader, folded)
        found.append((word, None if replacement is None else _display_form(reader, replacement)))
    return found


def suggest(reader, text: str) -> str | None:
    """A corrected query, or None when every word is known (or nothing can be corrected)."""
    pairs = corrections(reader, text)
    if not any(replacement for _, replacement in pairs):
        return None
    return " ".join(replacement or word for word, replacement in pairs)
