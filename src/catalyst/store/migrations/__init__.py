"""Alembic environment and revision scripts (a package so that they ship in wheels)."""
