"""Permissions: route strings (`PUT /api/v1/users/:id`) that roles hold."""
