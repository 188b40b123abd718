"""P-REPEAT's measure and bands (services/billing/similarity.py): the measure is pg_trgm's, and
the bands let alike texts find each other while staying the same from release to release."""

from __future__ import annotations

from services.billing.similarity import BANDS, bands, similarity, text_bands, trigrams

EARLIER = (
    "Obračun plač se ne zaključi. Pri zaključevanju obračuna plač za oktober program javi "
    'napako "Manjka davčna številka" za dva zaposlena, čeprav sta obe številki vpisani.'
)
AGAIN = (
    "Napaka pri obračunu plač: manjka davčna številka. Program pri obračunu plač za november "
    "spet javi, da manjka davčna številka za zaposlenega, številka pa je vpisana."
)


def test_trigrams_are_pg_trgms_padded_words_lower_cased() -> None:
    assert trigrams("Čaša VODE!") == {
        "  č", " ča", "čaš", "aša", "ša ", "  v", " vo", "vod", "ode", "de "
    }  # fmt: skip


def test_similarity_is_pg_trgms_shared_over_all() -> None:
    # PostgreSQL's documentation: similarity('word', 'two words') = 0.363636
    assert similarity(trigrams("word"), trigrams("two words")) == 4 / 11
    assert similarity(trigrams("Plače"), trigrams("plače")) == 1.0
    assert similarity(trigrams(""), trigrams("plače")) == 0.0


def test_the_same_question_reworded_shares_bands_with_the_first() -> None:
    assert similarity(trigrams(EARLIER), trigrams(AGAIN)) > 0.5
    assert len(text_bands(EARLIER)) == len(text_bands(AGAIN)) == BANDS
    assert set(text_bands(EARLIER)) & set(text_bands(AGAIN))
    assert text_bands(EARLIER) == text_bands(EARLIER.upper())


def test_bands_stay_the_same_from_release_to_release() -> None:
    # Stored bands are compared with new ones: a change to the hashing needs a migration that
    # computes them again (docs/decisions.md, "P-REPEAT at scale").
    assert text_bands("Uvoz bančnega izpiska ne uspe")[:2] == (
        4452381866290343188,
        345188568068431322,
    )


def test_a_text_without_words_has_no_bands() -> None:
    assert bands(trigrams(" -- !! ")) == []
