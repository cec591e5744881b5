"""Alembic migrations; run them with `seam-api db upgrade` (or let `serve` do it)."""
