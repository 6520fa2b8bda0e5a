"""Admin pages: representatives."""
