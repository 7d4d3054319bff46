"""Members admin, one module per area. The apps above members add their columns, panels and
actions to the member pages through `MemberAdmin.extend` (see their admin modules)."""

from . import cards, imports, jobs, members, tiers  # noqa: F401  (registers the admin classes)
from .members import MemberAdmin

__all__ = ["MemberAdmin"]
