"""The points where apps above members take part in members' operations (see core.hooks)."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from core.hooks import Hook


@dataclass(frozen=True)
class Opening:
    """What a new member brings in besides their profile: opening points (a dated lot) and
    opening stored value (principal), with the store and the reference that name the event."""

    points: int = 0
    points_expire_at: datetime | None = None
    stored_value: Decimal = Decimal("0.00")
    store: object = None
    terminal: object = None
    reference: str = ""
    # When it happened: now, or the day a migrated member joined (their opening entries are
    # dated then, so the ledger reads in order before the history that follows).
    at: datetime | None = None


member_opened = Hook(
    "member_opened",
    """Run by `open_member` inside its transaction, once the member row exists.
    kwargs: member, opening (Opening), source, actor. Loyalty opens the points account (with
    the opening points and the registration bonus); wallet opens the wallet.""",
)

members_imported = Hook(
    "members_imported",
    """Run by `bulk_open_members` inside its transaction, after the members were inserted.
    kwargs: opened [ImportedMember], source, actor, at, registration_bonus (bool: grant the
    registration bonus in force on the day, once per member). Each app opens its accounts for
    them, set-based. An import calls it once per chunk, so a receiver must write nothing twice
    for a member it has seen (ledger keys are unique).""",
)


@dataclass(frozen=True)
class ImportedMember:
    member_id: int
    points: int
    points_expire_at: datetime | None
    store_id: int
    stored_value: Decimal
    reference: str
