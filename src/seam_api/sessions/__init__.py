"""Sign-in sessions and their rotating refresh tokens (contract 9.4)."""
