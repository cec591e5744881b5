"""Second factors and the keys that protect what accounts store."""
