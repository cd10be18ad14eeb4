from .definitions import Community, Definition, DefinitionDraft, DefinitionVersion
from .org import OrgUnit, PeopleChange, Person, PostAssignment, Registration, RoleAssignment
from .points import LedgerEntry, LedgerHead, Redemption, StoreItem
from .submissions import Draft, Submission, SubmissionFile
from .workflow import AuditEvent, Ballot, FlowInstance, Notification, Timer

__all__ = [
    "AuditEvent", "Ballot", "FlowInstance", "Notification", "Timer",
    "Community", "Definition", "DefinitionDraft", "DefinitionVersion", "Draft", "LedgerEntry", "LedgerHead", "OrgUnit", "Person",
    "PeopleChange", "PostAssignment", "Redemption", "Registration", "RoleAssignment", "StoreItem", "Submission", "SubmissionFile",
]
