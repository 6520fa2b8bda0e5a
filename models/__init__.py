"""The domain core: typed models, lifecycles, audit events, the outbox, errors and migrations.

Imports nothing of the project; every other package may import it.
"""

from . import council as _council  # noqa: F401,E402 - registers the council tables
from . import governance as _governance  # noqa: F401,E402 - registers review decisions, blocks and retention
from . import hotspots as _hotspots  # noqa: F401,E402 - registers the complaints' segmented words
from . import intake as _intake  # noqa: F401,E402 - registers the intake tables
from . import legal as _legal  # noqa: F401,E402 - registers legal opinions and documents
from . import notify as _notify  # noqa: F401,E402 - registers the subscription ledger and digest tables
from . import qr as _qr  # noqa: F401,E402 - registers the unit-code tables
from . import representatives as _representatives  # noqa: F401,E402 - registers representatives and their log
from . import stats as _stats  # noqa: F401,E402 - registers the statistics tables
from . import triage as _triage  # noqa: F401,E402 - registers the triage tables
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
