"""The planners' views of the analytics: HTML pages and the ``bmb report planning`` file."""
