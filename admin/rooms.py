"""Admin pages: rooms."""
