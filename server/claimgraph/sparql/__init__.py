"""The SPARQL 1.1 endpoint: protocol, isolated query execution, safety checks, update, and
the service description. ``views`` is the Flask side; the other modules know nothing of Flask.

Kept light on purpose: query worker processes import ``claimgraph.sparql.worker`` through it.
"""
