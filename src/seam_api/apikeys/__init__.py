"""API keys for programs: a signed-in user's scoped, revocable bearer credentials."""
