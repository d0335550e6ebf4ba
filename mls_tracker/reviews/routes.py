"""Review pages (being written)."""
