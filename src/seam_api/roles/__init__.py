"""Roles: what a user is, and so what they may do and see."""
