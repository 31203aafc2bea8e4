"""The ClaimGraph benchmark: a synthetic case-file generator, a research query battery, and
``python -m bench.run``, which times Oxigraph through the store against rdflib's engine."""
