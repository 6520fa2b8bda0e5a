"""All admin pages, registered on one blueprint (`/admin/...`)."""

from . import audit, blocks, home, legal, representatives, review, rooms, staff, units  # noqa: F401 - each module adds its routes
from .blueprint import bp

__all__ = ["bp"]
