"""``python -m claimgraph``: the same command line as ``claimgraph``."""

from claimgraph.cli import main

main(prog_name="claimgraph")
