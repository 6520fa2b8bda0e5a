"""Admin pages: review."""
