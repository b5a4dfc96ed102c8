"""API tokens: creating, listing, revoking and recognising them.

Guarantees: the plaintext token is returned once, at creation, and never stored — the
store keeps only its SHA-256 digest (`catalyst.store.tokens`). Tokens are URL-safe random
strings with 256 bits of entropy.

Every API request authenticates, so a recognised token is remembered for `CACHE_SECONDS`
(per process, keyed by the token's digest, at most `CACHE_SIZE` tokens): a request then
costs no token query. The price: a token deleted from the database keeps working for up
to that long on replicas that saw it just before. Unknown tokens are never remembered, so
a new token works at once.

Revoking (`TokenService.revoke`, ``catalyst token revoke NAME|ID``) deletes the token's
row: the revoking process forgets it at once, every other replica within `CACHE_SECONDS`.
Environments the token created stay, visible to admin tokens only.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from catalyst.service.caller import Caller
from catalyst.store.records import TokenRecord
from catalyst.store.tokens import TokenRepository

CACHE_SECONDS = 5.0
CACHE_SIZE = 1024


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """A freshly created token; ``token`` is the only copy of the plaintext."""

    id: int
    name: str
    admin: bool
    token: str


class TokenService:
    """Creates and authenticates API tokens."""

    def __init__(
        self,
        tokens: TokenRepository,
        *,
        cache_seconds: float = CACHE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._tokens = tokens
        self._cache_seconds = cache_seconds
        self._clock = clock
        self._recognised: dict[bytes, tuple[float, Caller]] = {}  # digest -> (until, caller)

    async def create(self, name: str, *, admin: bool = False) -> IssuedToken:
        """Create a token; raises `catalyst.store.errors.TokenNameTaken` if the name is used."""
        token = secrets.token_urlsafe(32)
        record = await self._tokens.create(name=name, token=token, admin=admin)
        return IssuedToken(id=record.id, name=record.name, admin=record.admin, token=token)

    async def list(self) -> list[TokenRecord]:
        """Every token, oldest first (names and ids only: the tokens themselves are unknown)."""
        return await self._tokens.list()

    async def revoke(self, name_or_id: str) -> TokenRecord | None:
        """Delete the token with this name or, when no token has that name, this id.

        Returns what was revoked, or None when nothing matched (or it was revoked meanwhile).
        """
        record = await self._tokens.get_by_name(name_or_id)
        token_id = _as_id(name_or_id)
        if record is None and token_id is not None:
            record = await self._tokens.get(token_id)
        if record is None or not await self._tokens.delete_by_id(record.id):
            return None
        self._recognised = {
            digest: entry
            for digest, entry in self._recognised.items()
            if entry[1].token_id != record.id
        }
        return record

    async def authenticate(self, token: str) -> Caller | None:
        """The caller a token belongs to, or None for an unknown token."""
        digest = hashlib.sha256(token.encode()).digest()
        now = self._clock()
        remembered = self._recognised.get(digest)
        if remembered is not None and remembered[0] > now:
            return remembered[1]
        record = await self._tokens.find_by_token(token)
        if record is None:
            self._recognised.pop(digest, None)
            return None
        caller = Caller(token_id=record.id, name=record.name, admin=record.admin)
        if self._cache_seconds > 0:
            if len(self._recognised) >= CACHE_SIZE:
                self._recognised = {k: v for k, v in self._recognised.items() if v[0] > now}
                if len(self._recognised) >= CACHE_SIZE:
                    self._recognised.pop(next(iter(self._recognised)))
            self._recognised[digest] = (now + self._cache_seconds, caller)
        return caller


_MAX_ID = 2**31 - 1  # the id column is a 32-bit integer on every database


def _as_id(text: str) -> int | None:
    if not (text.isascii() and text.isdecimal()):
        return None
    value = int(text)
    return value if 0 < value <= _MAX_ID else None
