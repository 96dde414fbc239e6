"""`python -m c360` runs the command line."""

from c360.cli import main

main()
