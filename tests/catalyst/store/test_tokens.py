"""TokenRepository: only hashes are stored; lookup by the presented token."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from catalyst.store import Database, TokenNameTaken, TokenRepository, hash_token
from catalyst.store.schema import api_tokens


@pytest.fixture
def tokens(database: Database) -> TokenRepository:
    return TokenRepository(database)


def test_hash_is_sha256_hex() -> None:
    assert hash_token("abc") == hashlib.sha256(b"abc").hexdigest()
    assert len(hash_token(secrets.token_urlsafe(32))) == 64


async def test_the_plaintext_token_is_never_stored(
    tokens: TokenRepository, database: Database
) -> None:
    token = secrets.token_urlsafe(32)
    await tokens.create(name="ci", token=token, admin=True)
    async with database.read() as connection:
        rows = (await connection.execute(select(api_tokens))).all()
    assert len(rows) == 1
    stored = [str(value) for value in rows[0]]
    assert not any(token in value for value in stored)
    assert hash_token(token) in stored


async def test_a_token_is_found_by_its_plaintext_only(tokens: TokenRepository) -> None:
    token = secrets.token_urlsafe(32)
    when = datetime(2026, 11, 25, 10, 0, 0, 654321, tzinfo=UTC)
    created = await tokens.create(name="patchdemo", token=token, now=when)
    found = await tokens.find_by_token(token)
    assert found == created
    assert found is not None
    assert (found.name, found.admin, found.created_at) == ("patchdemo", False, when)
    assert await tokens.find_by_token(token + "x") is None
    assert await tokens.find_by_token(hash_token(token)) is None
    assert await tokens.find_by_token("") is None


async def test_names_are_unique(tokens: TokenRepository) -> None:
    await tokens.create(name="ci", token="one")
    with pytest.raises(TokenNameTaken):
        await tokens.create(name="ci", token="two")
    assert [t.name for t in await tokens.list()] == ["ci"]


async def test_list_and_delete(tokens: TokenRepository) -> None:
    first = await tokens.create(name="b-first", token="t1", admin=True)
    second = await tokens.create(name="a-second", token="t2")
    assert await tokens.list() == [first, second]
    assert await tokens.get_by_name("a-second") == second

    assert await tokens.delete("b-first") is True
    assert await tokens.delete("b-first") is False
    assert await tokens.list() == [second]
    assert await tokens.find_by_token("t1") is None
    assert await tokens.find_by_token("t2") == second


async def test_get_and_delete_by_id(tokens: TokenRepository) -> None:
    first = await tokens.create(name="first", token="t1")
    second = await tokens.create(name="second", token="t2")
    assert await tokens.get(first.id) == first
    assert await tokens.get(second.id + 100) is None

    assert await tokens.delete_by_id(first.id) is True
    assert await tokens.delete_by_id(first.id) is False
    assert await tokens.get(first.id) is None
    assert await tokens.list() == [second]
