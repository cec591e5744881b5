"""Names the roles domain shares with the bootstrap and the delegation rules."""

ADMIN_ROLE = "admin"  # seeded by the bootstrap with every route permission; full power
