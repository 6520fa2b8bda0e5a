"""Admin pages: legal."""
