"""kb: the knowledge base of a network of sustainable IT buyers (index, search, cite)."""

import os

# kb's arrays need no linear algebra, but numpy's OpenBLAS starts a thread per core when it is
# imported: about 60 ms of CPU for each `kb` command and each server process, and idle
# threads. One thread unless the environment asks for more.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
