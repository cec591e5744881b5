"""Authentication: registration, login and logout."""
