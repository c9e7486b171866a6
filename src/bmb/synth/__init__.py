"""The synthetic region: a population and its care, emitted in the real source formats."""
