"""Readers of outside formats: one reader per format, producing Arrow batches and rejects."""
