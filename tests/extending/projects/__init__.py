"""A resource written the way docs/extending.md shows, kept out of the shipped package: the
proof that a developer's own resource gets what the built-in ones get."""
