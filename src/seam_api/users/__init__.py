"""Users: the accounts, their role and their state."""
