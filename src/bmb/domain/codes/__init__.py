"""Code systems and code lists (pure data)."""
