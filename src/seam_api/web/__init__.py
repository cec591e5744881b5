"""Where HTTP meets the core (being moved here from core/)."""
