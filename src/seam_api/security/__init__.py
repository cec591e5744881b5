"""Credentials beyond passwords and session tokens: second factors, API keys for programs, and
the keys that protect what accounts store."""
