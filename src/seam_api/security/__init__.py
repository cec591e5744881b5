"""Credentials beyond passwords and session tokens: API keys for programs."""
