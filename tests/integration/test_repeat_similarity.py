"""P-REPEAT on real PostgreSQL with realistic Slovenian questions: the same question
asked again is found among the organization's earlier resolved tickets; a different question
about the same program, another organization's ticket, or an unresolved one is not."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from services.billing import repeat_repository, repository
from services.billing.policy import EarlierTicket, PolicyParameters, TicketFacts, WorkFacts
from services.billing.similarity import similarity, trigrams
from tests.support import migrated

THRESHOLD = PolicyParameters().repeat_similarity
ORG, OTHER_ORG = uuid.uuid4(), uuid.uuid4()
ANA, MAJA = uuid.uuid4(), uuid.uuid4()
T0 = datetime(2026, 10, 5, 9, 0, tzinfo=UTC)
_numbers = iter(range(1, 1000))


@pytest.fixture
async def billing_pool(scratch_pool: asyncpg.Pool) -> asyncpg.Pool:
    return await migrated(scratch_pool, "billing")


async def _ticket(
    pool: asyncpg.Pool,
    subject: str,
    body: str,
    *,
    org: uuid.UUID = ORG,
    requester: uuid.UUID = ANA,
    days_later: int = 0,
    resolved: bool = True,
) -> repository.BillingTicket:
    ticket = repository.BillingTicket(
        uuid.uuid4(),
        org,
        next(_numbers),
        subject,
        body,
        TicketFacts("portal", T0 + timedelta(days=days_later), requester, "program_usage", "Plače"),
    )
    async with pool.acquire() as conn:
        await repository.remember_tickets(conn, tickets=[ticket])
        if resolved:
            await repository.record_resolution(
                conn,
                ticket_id=ticket.ticket_id,
                work=WorkFacts(
                    resolved_at=ticket.facts.submitted_at + timedelta(hours=2), minutes=10
                ),
                source_event_id=uuid.uuid4(),
            )
    return ticket


async def _similar(pool: asyncpg.Pool, ticket: repository.BillingTicket) -> object:
    async with pool.acquire() as conn:
        return await repeat_repository.most_similar_earlier(
            conn, ticket=ticket, threshold=THRESHOLD
        )


async def _cited(pool: asyncpg.Pool, ticket: repository.BillingTicket) -> tuple[uuid.UUID, bool]:
    """The earlier ticket the search cites for `ticket`: its id, and whether its requester is
    the same person."""
    found = await _similar(pool, ticket)
    assert isinstance(found, EarlierTicket)
    return found.ticket_id, found.same_requester


async def test_the_same_question_asked_again_cites_the_earlier_ticket(
    billing_pool: asyncpg.Pool,
) -> None:
    earlier = await _ticket(
        billing_pool,
        "Obračun plač se ne zaključi",
        'Pri zaključevanju obračuna plač za oktober program javi napako "Manjka davčna številka" '
        "za dva zaposlena, čeprav sta obe številki vpisani.",
    )
    await _ticket(
        billing_pool,
        "Obračun plač za december",
        "Kako vnesem božičnico v obračun plač za december?",
    )
    again = await _ticket(
        billing_pool,
        "Napaka pri obračunu plač: manjka davčna številka",
        "Program pri obračunu plač za november spet javi, da manjka davčna številka za "
        "zaposlenega, številka pa je vpisana.",
        days_later=30,
        resolved=False,
    )

    found = await _similar(billing_pool, again)

    assert isinstance(found, EarlierTicket)
    assert (found.ticket_id, found.same_requester) == (earlier.ticket_id, True)
    assert found.similarity >= THRESHOLD


async def test_a_different_question_about_the_same_program_is_not_a_repeat(
    billing_pool: asyncpg.Pool,
) -> None:
    await _ticket(
        billing_pool,
        "Obračun plač za december",
        "Kako vnesem božičnico v obračun plač za december?",
    )
    other = await _ticket(
        billing_pool,
        "Tiskanje plačilnih list",
        "Kako natisnem plačilne liste vseh zaposlenih naenkrat?",
        days_later=3,
        resolved=False,
    )

    assert await _similar(billing_pool, other) is None


async def test_only_the_same_organizations_earlier_resolved_tickets_count(
    billing_pool: asyncpg.Pool,
) -> None:
    text = (
        "Izvoz REK-1 obrazca ne uspe",
        "Pri izvozu REK-1 obrazca za eDavke program javi napako pri podpisu datoteke.",
    )
    await _ticket(billing_pool, *text, org=OTHER_ORG)  # another organization
    await _ticket(billing_pool, *text, resolved=False)  # not answered yet: no instructions given
    later = await _ticket(billing_pool, *text, days_later=2, resolved=False)

    assert await _similar(billing_pool, later) is None


async def test_a_colleagues_earlier_ticket_counts_after_the_requesters_own(
    billing_pool: asyncpg.Pool,
) -> None:
    text = (
        "Uvoz bančnega izpiska",
        "Uvoz bančnega izpiska v formatu camt.053 se ustavi z napako pri branju datoteke.",
    )
    colleague = await _ticket(billing_pool, *text, requester=MAJA)
    again = await _ticket(billing_pool, *text, days_later=5, resolved=False)

    assert await _cited(billing_pool, again) == (colleague.ticket_id, False)


async def test_a_run_of_tickets_longer_than_a_statement_gets_each_its_own_answer(
    billing_pool: asyncpg.Pool,
) -> None:
    questions = [
        (f"Napaka {code} pri izvozu", f"Izvoz obrazca {code} za eDavke se ustavi z napako {code}.")
        for code in ("REK-1", "REK-2", "M-4", "OPSVL", "DDV-O", "IRPP", "INTRASTAT", "ZD-1")
    ]
    earlier = [await _ticket(billing_pool, *q) for q in questions]
    asked = [
        await _ticket(billing_pool, *questions[i % len(questions)], days_later=9, resolved=False)
        for i in range(repeat_repository.REPEAT_CHUNK + 5)
    ]
    asked.append(
        await _ticket(
            billing_pool, "Tiskanje", "Kako natisnem plačilne liste?", days_later=9, resolved=False
        )
    )

    async with billing_pool.acquire() as conn:
        found = await repeat_repository.most_similar_earlier_many(
            conn, tickets=asked, threshold=THRESHOLD
        )

    assert {t: f.ticket_id for t, f in found.items()} == {
        t.ticket_id: earlier[i % len(questions)].ticket_id for i, t in enumerate(asked[:-1])
    }
    assert asked[-1].ticket_id not in found
    for ticket in asked[:3]:  # the same as asking one at a time
        one = await _similar(billing_pool, ticket)
        assert isinstance(one, EarlierTicket)
        assert one == found[ticket.ticket_id]


async def test_the_measure_is_postgresqls_similarity(billing_pool: asyncpg.Pool) -> None:
    # Texts without č, š, ž: the tests' PostgreSQL runs with the C locale, where pg_trgm takes
    # them for separators; similarity.trigrams counts them as the letters they are.
    pairs = [
        ("Obracun plac se ne zakljuci", "obracun plac za december"),
        ("Izvoz REK-1 obrazca ne uspe", "Pri izvozu REK-1 obrazca za eDavke javi napako."),
        ("Vnos 13. placa: 2026/12", "vnos placa 13 za 2026 12"),
        ("word", "two words"),
    ]
    async with billing_pool.acquire() as conn:
        for a, b in pairs:
            expected = await conn.fetchval("SELECT similarity($1, $2)", a, b)
            assert abs(similarity(trigrams(a), trigrams(b)) - expected) < 1e-6, (a, b)


async def test_the_same_question_is_found_behind_a_long_history_of_other_questions(
    billing_pool: asyncpg.Pool,
) -> None:
    org = uuid.uuid4()
    first = await _ticket(
        billing_pool,
        "Uvoz bančnega izpiska camt.053",
        "Uvoz bančnega izpiska v formatu camt.053 se ustavi z napako pri branju datoteke.",
        org=org,
    )
    for i in range(300):  # later questions of colleagues, each about another form and error
        await _ticket(
            billing_pool,
            f"Obrazec {i} se ne izvozi",
            f"Pri izvozu obrazca številka {i} za leto {2000 + i % 26} program javi napako "
            f"E{i * 7919 % 10007} v vrstici {i % 97}.",
            org=org,
            requester=MAJA,
            days_later=1 + i // 20,
        )
    again = await _ticket(
        billing_pool,
        "Spet napaka pri uvozu izpiska",
        "Uvoz bančnega izpiska camt.053 se spet ustavi z napako pri branju datoteke.",
        org=org,
        days_later=40,
        resolved=False,
    )

    assert await _cited(billing_pool, again) == (first.ticket_id, True)


async def test_tickets_remembered_before_bands_were_kept_are_found_once_filled_in(
    billing_pool: asyncpg.Pool,
) -> None:
    text = (
        "Letni popis osnovnih sredstev",
        "Pri letnem popisu osnovnih sredstev program ne prikaže odpisanih sredstev v seznamu.",
    )
    old = await _ticket(billing_pool, *text)
    async with billing_pool.acquire() as conn:  # as migration 005 left it
        await conn.execute("DELETE FROM repeat_bands WHERE ticket_id = $1", old.ticket_id)
        await conn.execute(
            "UPDATE tickets SET repeat_bands = NULL WHERE ticket_id = $1", old.ticket_id
        )
    again = await _ticket(billing_pool, *text, days_later=3, resolved=False)
    assert await _similar(billing_pool, again) is None

    async with billing_pool.acquire() as conn:
        while await repeat_repository.fill_missing_bands(conn, limit=50):
            pass

    cited, _ = await _cited(billing_pool, again)
    assert cited == old.ticket_id
