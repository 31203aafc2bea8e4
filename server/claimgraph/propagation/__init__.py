"""How claims travelled: origins, echoes, independence, first and latest sayings, rebuttals
nobody carried, computed from the reporting chains after each write and published as derived
triples in their own named graph (README, "Propagation")."""
