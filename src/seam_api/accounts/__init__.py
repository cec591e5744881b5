"""Your own account: profile, password and second factor (contract 9.1 to 9.3)."""
