"""The ``bmb`` command: one module per command group, one error boundary."""
