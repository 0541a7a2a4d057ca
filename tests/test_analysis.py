"""One Unicode normalisation for analysis, highlighting, spelling and the query parser."""

from __future__ import annotations

import pytest

from indexer import query
from indexer.analysis import normalise, spelling_form, spelling_word, terms, words
from indexer.highlight import excerpt

NBSP, NARROW_NBSP, THIN = "\u00a0", "\u202f", "\u2009"


@pytest.mark.parametrize("apostrophe", ["'", "’", "ʼ", "‘", "`", "´", "′"])
def test_every_apostrophe_is_an_elision(apostrophe):
    assert terms(f"l{apostrophe}insertion d{apostrophe}emploi") == terms("insertion emploi")
    assert words(f"l{apostrophe}insertion") == [f"l{apostrophe}insertion"]  # one token
    assert spelling_word(f"l{apostrophe}insertion") == "insertion"


@pytest.mark.parametrize("space", [NBSP, NARROW_NBSP, THIN])
def test_non_breaking_and_narrow_spaces_separate_words(space):
    assert terms(f"jardins{space}partagés") == terms("jardins partagés")
    assert query.parse(f"jardins{space}partagés").words == ("jardins", "partagés")


def test_ligatures_are_expanded():
    assert terms("œuvre cœur") == terms("oeuvre coeur")
    assert terms("Æquo") == terms("aequo")
    assert spelling_word("œuvre") == "oeuvre"
    assert spelling_form("Œuvre") == "oeuvre|œuvre"


def test_full_width_and_compatibility_forms():
    assert terms("ｉｎｓｅｒｔｉｏｎ") == terms("insertion")
    assert terms("ﬁnancement") == terms("financement")  # the `ﬁ` ligature
    assert terms("ＰＲＥ") == ["PRE"]  # a protected acronym, typed in full-width capitals
    assert normalise("ＧＵＳＰ") == "GUSP"


def test_normalise_makes_quotes_and_apostrophes_straight():
    assert normalise("« l’été »") == '" l\'été "'
    assert normalise(f"«{NBSP}sécurité{NARROW_NBSP}»") == '" sécurité "'
    assert normalise("“a” „b‟") == '"a" "b"'


@pytest.mark.parametrize(
    "typed",
    [
        "« sécurité du quotidien »",
        f"«{NBSP}sécurité du quotidien{NBSP}»",
        "“sécurité du quotidien”",
        '"sécurité du quotidien"',
    ],
)
def test_query_parser_reads_french_and_curly_quotes_as_phrases(typed):
    parsed = query.parse(typed)
    assert parsed.phrases == (("sécurité", "du", "quotidien"),)
    assert parsed.words == ()


def test_query_parser_normalises_apostrophes_and_full_width():
    assert query.parse("l’insertion").term_list == query.parse("l'insertion").term_list
    assert query.parse("ｍｅｄｉａｔｉｏｎ").term_list == query.parse("médiation").term_list


def test_highlighting_uses_the_same_normalisation():
    text = f"Les demandeurs d’emploi, l{NARROW_NBSP}insertion et l’ŒUVRE ; ﬁnancement."
    marked = excerpt(text, set(terms("emploi oeuvre financement")))
    assert "d’<mark>emploi</mark>" in marked  # the elided article is not marked
    assert "l’<mark>ŒUVRE</mark>" in marked
    assert "<mark>ﬁnancement</mark>" in marked


def test_highlighting_marks_word_families():
    marked = excerpt("Une médiatrice et deux médiateurs.", set(terms("médiation")))
    assert marked == "Une <mark>médiatrice</mark> et deux <mark>médiateurs</mark>."


@pytest.mark.parametrize(
    "family",
    [
        ("médiation", "médiateur", "médiatrice", "médiateurs", "médiatrices"),
        ("insertion", "insérer", "inséré"),
        ("rénovation", "rénover", "rénové"),
        ("création", "créer", "créateur", "créatrice"),
        ("entrepreneuriat", "entrepreneur", "entrepreneurs", "entreprendre"),
        ("jardin", "jardinage", "jardinier", "jardiner"),
        ("décrochage", "décrocheurs"),
        ("formation", "formateur", "formatrice"),
        ("insalubrité", "insalubre"),
        ("prévention", "prévenir", "préventive"),
        ("tiers-lieu", "tiers-lieux"),
    ],
)
def test_derivational_families_share_one_term(family):
    first = terms(family[0])
    assert all(terms(word) == first for word in family), [terms(w) for w in family]


@pytest.mark.parametrize(
    ("plural", "singular"),
    [
        ("emplois", "emploi"),
        ("potagers", "potager"),
        ("crédits", "crédit"),
        ("usagers", "usager"),
        ("lois", "loi"),
        ("loyers", "loyer"),
    ],
)
def test_plural_and_singular_that_snowball_stems_apart(plural, singular):
    assert terms(plural) == terms(singular)


def test_rent_is_not_law():
    """Snowball stems `loyer` to `loi`: a search for the law found every rent sheet."""
    assert terms("loyer") != terms("loi")
    assert terms("loyers impayés") != terms("lois impayés")
