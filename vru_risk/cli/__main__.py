"""`python -m vru_risk.cli` is the same as `vru`."""

from vru_risk.cli import main

main()
