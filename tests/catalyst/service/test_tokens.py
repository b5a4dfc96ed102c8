"""TokenService: recognised tokens are remembered briefly, unknown ones never."""

from __future__ import annotations

from catalyst.service.tokens import CACHE_SECONDS, TokenService
from catalyst.store import Database, TokenRepository
from catalyst.store.records import TokenRecord


class CountingTokens(TokenRepository):
    def __init__(self, database: Database) -> None:
        super().__init__(database)
        self.lookups = 0

    async def find_by_token(self, token: str) -> TokenRecord | None:
        self.lookups += 1
        return await super().find_by_token(token)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_a_recognised_token_is_not_looked_up_again_until_the_cache_expires(
    database: Database,
) -> None:
    tokens, clock = CountingTokens(database), Clock()
    service = TokenService(tokens, clock=clock)
    issued = await service.create("ci", admin=True)

    first = await service.authenticate(issued.token)
    second = await service.authenticate(issued.token)
    assert first is not None
    assert first == second
    assert first.admin
    assert tokens.lookups == 1

    await tokens.delete("ci")
    assert await service.authenticate(issued.token) == first  # within CACHE_SECONDS
    clock.now += CACHE_SECONDS + 0.1
    assert await service.authenticate(issued.token) is None
    assert tokens.lookups == 2


async def test_an_unknown_token_is_asked_for_every_time_so_a_new_token_works_at_once(
    database: Database,
) -> None:
    tokens = CountingTokens(database)
    service = TokenService(tokens, clock=Clock())
    assert await service.authenticate("not-a-token") is None
    assert await service.authenticate("not-a-token") is None
    assert tokens.lookups == 2


async def test_tokens_are_listed_oldest_first_and_revoked_by_name_or_id(
    database: Database,
) -> None:
    service = TokenService(TokenRepository(database), clock=Clock())
    ci = await service.create("ci", admin=True)
    alice = await service.create("alice")
    named_like_an_id = await service.create(str(alice.id))
    assert [(t.name, t.admin) for t in await service.list()] == [
        ("ci", True),
        ("alice", False),
        (str(alice.id), False),
    ]
    assert await service.authenticate(named_like_an_id.token) is not None

    # A name wins over an id: "2" is the token named "2", not the token with id 2.
    revoked = await service.revoke(str(alice.id))
    assert revoked is not None
    assert revoked.id == named_like_an_id.id
    assert await service.authenticate(named_like_an_id.token) is None  # forgotten here at once
    revoked = await service.revoke(str(alice.id))
    assert revoked is not None
    assert revoked.name == "alice"
    revoked = await service.revoke("ci")
    assert revoked is not None
    assert revoked.id == ci.id
    assert await service.revoke("ci") is None
    assert await service.revoke("12345") is None
    assert await service.list() == []


async def test_another_replica_stops_accepting_a_revoked_token_within_the_cache_time(
    database: Database,
) -> None:
    clock = Clock()
    this_replica = TokenService(TokenRepository(database), clock=clock)
    other_replica = TokenService(TokenRepository(database), clock=clock)
    issued = await this_replica.create("alice")
    assert await other_replica.authenticate(issued.token) is not None

    await this_replica.revoke("alice")
    assert await this_replica.authenticate(issued.token) is None
    clock.now += CACHE_SECONDS - 0.1
    assert await other_replica.authenticate(issued.token) is not None  # as documented
    clock.now += 0.2
    assert await other_replica.authenticate(issued.token) is None
