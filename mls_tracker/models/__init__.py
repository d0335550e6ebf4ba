"""The data model (PRODUCT.md §2), one module per aggregate; import models from here."""

from mls_tracker.models.audit import AuditAction, AuditEntry
from mls_tracker.models.base import Base, utcnow
from mls_tracker.models.meeting import (
    CLOSED_STATUSES,
    ActionItem,
    ActionStatus,
    ActionUpdate,
    AgendaItem,
    Attendance,
    Challenge,
    Meeting,
    MeetingKind,
    MeetingState,
    Priority,
)
from mls_tracker.models.partnership import (
    Change,
    ChangeStatus,
    ChangeType,
    EngagementModel,
    Expectation,
    ExpectationCategory,
    ExpectationRevision,
    GovernanceModel,
    Partnership,
    PartnershipStatus,
    ReviewCadence,
    RevisionKind,
    Side,
    Sponsor,
    Win,
    change_regions,
    partnership_regions,
)
from mls_tracker.models.people import (
    ApiToken,
    Invitation,
    Membership,
    Organisation,
    OrganisationKind,
    Region,
    Role,
    SecurityRole,
    User,
    UserSession,
    normalise_email,
)
from mls_tracker.models.review import (
    DeliveryResult,
    Review,
    ReviewKind,
    Scorecard,
    ScorecardDelivery,
    review_featured_wins,
)
from mls_tracker.models.satisfaction import (
    ImportMapping,
    ReportedSatisfaction,
    SurveyFormat,
    SurveyImport,
    SurveyResponse,
)
from mls_tracker.models.sla import (
    Direction,
    Frequency,
    MeasurementState,
    Sla,
    SlaMeasurement,
    SlaTarget,
    Unit,
)

__all__ = [name for name in dir() if not name.startswith("_")]
