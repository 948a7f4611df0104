"""agent/backends."""
