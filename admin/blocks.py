"""Admin pages: blocks."""
