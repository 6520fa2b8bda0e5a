"""Admin pages: units."""
