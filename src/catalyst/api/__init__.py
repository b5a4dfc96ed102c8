"""Catalyst's HTTP layer (FastAPI): routers, schemas, auth, the error shape, SSE logs.

No business rules live here; see `catalyst.service` for the use cases."""
