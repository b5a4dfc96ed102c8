"""API tokens: creating them and recognising them.

Guarantees: the plaintext token is returned once, at creation, and never stored — the
store keeps only its SHA-256 digest (`catalyst.store.tokens`). Tokens are URL-safe random
strings with 256 bits of entropy.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from catalyst.service.caller import Caller
from catalyst.store.tokens import TokenRepository


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """A freshly created token; ``token`` is the only copy of the plaintext."""

    id: int
    name: str
    admin: bool
    token: str


class TokenService:
    """Creates and authenticates API tokens."""

    def __init__(self, tokens: TokenRepository) -> None:
        self._tokens = tokens

    async def create(self, name: str, *, admin: bool = False) -> IssuedToken:
        """Create a token; raises `catalyst.store.errors.TokenNameTaken` if the name is used."""
        token = secrets.token_urlsafe(32)
        record = await self._tokens.create(name=name, token=token, admin=admin)
        return IssuedToken(id=record.id, name=record.name, admin=record.admin, token=token)

    async def authenticate(self, token: str) -> Caller | None:
        """The caller a token belongs to, or None for an unknown token."""
        record = await self._tokens.find_by_token(token)
        if record is None:
            return None
        return Caller(token_id=record.id, name=record.name, admin=record.admin)
