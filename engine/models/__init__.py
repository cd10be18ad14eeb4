from .definitions import Community, Definition, DefinitionVersion

__all__ = ["Community", "Definition", "DefinitionVersion"]
