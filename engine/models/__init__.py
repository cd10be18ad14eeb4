from .definitions import Community, Definition, DefinitionVersion
from .submissions import Draft, Submission, SubmissionFile

__all__ = ["Community", "Definition", "DefinitionVersion", "Draft", "Submission", "SubmissionFile"]
