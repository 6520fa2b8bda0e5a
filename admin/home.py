"""Admin pages: home."""
