# One module per aggregate; import every model here so Django and callers find them.
from .bulk import BulkJob, BulkJobProblem
from .cards import Card, CardBatch
from .consent import Consent, ConsentChannel, ConsentDoor, ConsentPurpose, ConsentRecord
from .imports import ImportJob, ImportProblem
from .member import Member, Tag, mask_phone
from .tiers import Tier, TierChange

__all__ = [
    "BulkJob",
    "BulkJobProblem",
    "Card",
    "CardBatch",
    "Consent",
    "ConsentChannel",
    "ConsentDoor",
    "ConsentPurpose",
    "ConsentRecord",
    "ImportJob",
    "ImportProblem",
    "Member",
    "Tag",
    "Tier",
    "TierChange",
    "mask_phone",
]
