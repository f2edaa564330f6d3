"""Every model, imported so that `Base.metadata` knows all tables."""

from server.models.archive import ArchiveEntry
from server.models.areas import AllowedNumber, Area, AreaKind, AreaTheme, Site, path_ids
from server.models.attachments import Attachment, AttachmentKind
from server.models.audit import AuditEvent
from server.models.catalogue import (
    CATALOGUE_KINDS,
    FORMS,
    CatalogueCategory,
    CatalogueItem,
    DisclosureCase,
    Period,
    Scope,
    Timing,
)
from server.models.devices import (
    CredentialKind,
    Device,
    DeviceCredential,
    DeviceKind,
    EnrolmentCode,
    Orientation,
)
from server.models.disclosures import (
    Disclosure,
    DisclosureKind,
    DisclosureStatus,
    DisclosureVersion,
    Review,
    ReviewDecision,
)
from server.models.feedback import Feedback, FeedbackAnswer, FeedbackKind, FeedbackStatus
from server.models.loops import LoopRevision, SpokenBoard
from server.models.schedules import (
    Audience,
    BoardKind,
    DeviceGroup,
    Playlist,
    PlaylistItem,
    ScheduleEntry,
    TargetKind,
)
from server.models.urgent import UrgentNotice, UrgentReceipt, UrgentStatus
from server.models.users import ApiToken, RecoveryCode, Role, RoleGrant, User, UserSession

__all__ = [
    "AllowedNumber", "ArchiveEntry", "Attachment", "AttachmentKind", "CATALOGUE_KINDS", "DisclosureCase", "FORMS", "Period",
    "ApiToken", "Area", "AreaTheme", "AuditEvent", "RecoveryCode", "UserSession", "AreaKind", "CatalogueCategory", "CatalogueItem", "CredentialKind",
    "Device", "DeviceCredential", "DeviceKind", "Disclosure", "DisclosureKind",
    "DisclosureStatus", "DisclosureVersion", "EnrolmentCode", "Feedback", "FeedbackAnswer",
    "FeedbackKind", "FeedbackStatus", "LoopRevision", "Orientation", "Review", "ReviewDecision", "Role",
    "RoleGrant", "Scope", "Site", "SpokenBoard", "Timing", "User",
    "Audience", "BoardKind", "DeviceGroup", "Playlist", "PlaylistItem", "ScheduleEntry", "TargetKind",
    "UrgentNotice", "UrgentReceipt", "UrgentStatus", "path_ids",
]
