"""The domain core: typed models, lifecycles, audit events, the outbox, errors and migrations.

Imports nothing of the project; every other package may import it.
"""

from .base import Base, utcnow
from .entities import (
    LEVEL_ORDER,
    AuditEvent,
    Complaint,
    ComplaintState,
    CouncilRoom,
    Meeting,
    Notification,
    NotificationState,
    QrCode,
    Resident,
    ResidentSession,
    Staff,
    StaffRole,
    Topic,
    TopicState,
    Unit,
    UnitLevel,
)
from .errors import Conflict, DomainError, Forbidden, NotFound, Unauthorized
from .lifecycle import SYSTEM, Actor, transition_complaint, transition_topic

__all__ = [
    "LEVEL_ORDER", "SYSTEM", "Actor", "AuditEvent", "Base", "Complaint", "ComplaintState", "Conflict",
    "CouncilRoom", "DomainError", "Forbidden", "Meeting", "NotFound", "Notification", "NotificationState",
    "QrCode", "Resident", "ResidentSession", "Staff", "StaffRole", "Topic", "TopicState", "Unauthorized",
    "Unit", "UnitLevel", "transition_complaint", "transition_topic", "utcnow",
]
