"""The vocabulary of BMB: pure values and declarations, no I/O, no frameworks."""
