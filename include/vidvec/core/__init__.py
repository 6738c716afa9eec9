"""Pure logic, no I/O: text recipe, ids, naming, plain types."""
