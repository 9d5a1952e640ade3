"""kb: the knowledge base of a network of sustainable IT buyers (index, search, cite)."""
