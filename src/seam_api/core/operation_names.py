"""Which operations read and which change data (contract 5.2), defined once: the server decides
`data:changed` from it and the console, which is served the same lists, decides its loaders."""

from __future__ import annotations

# `:fetchByUser` (a user's sessions, contract 9.4) is a fetch like the contract's others.
READ_SUFFIXES = (":fetchAll", ":fetchOne", ":fetchByRole", ":fetchByUri", ":fetchByUser")
# `audit:export` reads, although the contract's list of reads predates it. Sign-ins by a second
# factor or a refresh token are logins too: audit entries only (contract 6). Asking for a reset
# link changes nothing a client can read (its link is an audit entry only).
READ_OPERATIONS = frozenset(
    {
        "auth:login",
        "auth:logout",
        "audit:export",
        "auth:loginMfa",
        "auth:refresh",
        "auth:forgotPassword",
    }
)


def is_mutation(operation: str) -> bool:
    """Everything but the fetches, login, logout and the audit export changes data."""
    return not operation.endswith(READ_SUFFIXES) and operation not in READ_OPERATIONS
