from .definitions import Community, Definition, DefinitionVersion
from .org import OrgUnit, Person, PostAssignment, Registration, RoleAssignment
from .points import LedgerEntry, LedgerHead, Redemption, StoreItem
from .submissions import Draft, Submission, SubmissionFile

__all__ = [
    "Community", "Definition", "DefinitionVersion", "Draft", "LedgerEntry", "LedgerHead", "OrgUnit", "Person",
    "PostAssignment", "Redemption", "Registration", "RoleAssignment", "StoreItem", "Submission", "SubmissionFile",
]
