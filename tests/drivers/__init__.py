"""Programs the tests start as child processes (see each module's docstring)."""
