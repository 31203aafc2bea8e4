"""ClaimGraph: a fact-check knowledge graph service."""
