"""``python -m bmb`` runs the command line."""

from bmb.cli.main import main

main()
