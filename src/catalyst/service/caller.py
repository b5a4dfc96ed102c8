"""Who is calling: the authenticated API token, as the use cases see it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Caller:
    """An authenticated API token. Admins see every environment; others only their own."""

    token_id: int
    name: str
    admin: bool

    def may_see(self, owner_token_id: int | None) -> bool:
        """Whether an environment owned by ``owner_token_id`` is visible to this caller."""
        return self.admin or owner_token_id == self.token_id
