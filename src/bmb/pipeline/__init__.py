"""How data gets in: land, validate, pseudonymize, map, commit - idempotent and resumable."""
