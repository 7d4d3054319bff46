"""Consent services: record that a member agreed to be sent messages, or withdrew, per channel
and purpose (members.models.consent says what each state means). Every door (the till's card
opening, the import's consent column, the admin, the member centre, an SMS reply, an
unsubscribe link, the provider's unsubscribe list) calls these two functions.
"""

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from members.exceptions import ConsentWithdrawn, InvalidMember
from members.models import Consent, ConsentChannel, ConsentDoor, ConsentPurpose, ConsentRecord
from members.models.consent import OPT_IN_AGAIN_DOORS


def consent_wording(purpose=ConsentPurpose.MARKETING):
    """(version, text) of the wording a member agrees to now (settings)."""
    if purpose == ConsentPurpose.MARKETING:
        return settings.MEMBERS_MARKETING_CONSENT_VERSION, settings.MEMBERS_MARKETING_CONSENT_TEXT
    return settings.MEMBERS_SERVICE_CONSENT_VERSION, settings.MEMBERS_SERVICE_CONSENT_TEXT


def _check(channel, purpose, door):
    errors = {}
    if channel not in ConsentChannel.values:
        errors["channel"] = [_("Unknown channel.")]
    if purpose not in ConsentPurpose.values:
        errors["purpose"] = [_("Unknown purpose.")]
    if door not in ConsentDoor.values:
        errors["door"] = [_("Unknown door.")]
    if errors:
        raise InvalidMember(fields=errors)


@transaction.atomic
def record_consent(
    *,
    member,
    channel,
    granted,
    door,
    source,
    actor=None,
    purpose=ConsentPurpose.MARKETING,
    text=None,
    text_version=None,
    reference="",
    at=None,
):
    """Record that `member` agreed (granted=True) or withdrew (False) for `channel` and
    `purpose`, with the wording they saw (default: the current wording of the settings).

    A withdrawal of marketing is final until the member opts in again themselves: granting over
    it through an import or any door not in OPT_IN_AGAIN_DOORS raises ConsentWithdrawn. The
    same state recorded again (a till retrying, an import run twice) writes nothing and returns
    the record that set it. Returns the ConsentRecord in force."""
    _check(channel, purpose, door)
    at = at or timezone.now()
    # Locked so a reply of TD and a till's opt-in at the same moment do not both win.
    current = (
        Consent.objects.select_for_update()
        .select_related("record")
        .filter(member=member, channel=channel, purpose=purpose)
        .first()
    )
    if current is not None and current.granted == granted:
        return current.record
    if (
        granted
        and current is not None
        and purpose == ConsentPurpose.MARKETING
        and door not in OPT_IN_AGAIN_DOORS
    ):
        raise ConsentWithdrawn()
    if text is None:
        text_version, text = consent_wording(purpose) if granted else ("", "")
    record = ConsentRecord.objects.create(
        member=member,
        channel=channel,
        purpose=purpose,
        granted=granted,
        door=door,
        text=text or "",
        text_version=text_version or "",
        reference=(reference or "")[:100],
        source=source,
        actor=actor,
        created_at=at,
    )
    Consent.objects.update_or_create(
        member=member,
        channel=channel,
        purpose=purpose,
        defaults={"granted": granted, "door": door, "changed_at": at, "record": record},
    )
    return record


def withdraw_consent(*, member, channel, door, source, actor=None,
                     purpose=ConsentPurpose.MARKETING, reference="", at=None):  # fmt: skip
    """Withdraw (退订): no more messages of `purpose` on `channel` until the member opts in."""
    return record_consent(
        member=member, channel=channel, granted=False, door=door, source=source, actor=actor,
        purpose=purpose, reference=reference, at=at,
    )  # fmt: skip


@transaction.atomic
def bulk_record_consent(
    *,
    member_ids,
    channel,
    granted,
    door,
    source,
    actor=None,
    purpose=ConsentPurpose.MARKETING,
    reference="",
    at=None,
):
    """record_consent for many members at once (an import chunk, the provider's unsubscribe
    list, the demo): members already in that state are skipped, and a grant never overturns
    a withdrawal of marketing (door not in OPT_IN_AGAIN_DOORS). Returns how many changed."""
    _check(channel, purpose, door)
    at = at or timezone.now()
    ids = sorted(set(member_ids))
    if not ids:
        return 0
    # Rows locked in member order (two imports never deadlock), then only real changes kept.
    states = dict(
        Consent.objects.select_for_update()
        .filter(member_id__in=ids, channel=channel, purpose=purpose)
        .order_by("member_id")
        .values_list("member_id", "granted")
    )
    keep_withdrawn = granted and purpose == ConsentPurpose.MARKETING
    keep_withdrawn = keep_withdrawn and door not in OPT_IN_AGAIN_DOORS
    changing = [
        i for i in ids
        if states.get(i) != granted and not (keep_withdrawn and states.get(i) is False)
    ]  # fmt: skip
    if not changing:
        return 0
    text_version, text = consent_wording(purpose) if granted else ("", "")
    records = ConsentRecord.objects.bulk_create(
        ConsentRecord(
            member_id=i, channel=channel, purpose=purpose, granted=granted, door=door,
            text=text, text_version=text_version, reference=(reference or "")[:100],
            source=source, actor=actor, created_at=at,
        )
        for i in changing
    )  # fmt: skip
    Consent.objects.bulk_create(
        [
            Consent(member_id=r.member_id, channel=channel, purpose=purpose, granted=granted,
                    door=door, changed_at=at, record_id=r.pk)
            for r in records
        ],
        update_conflicts=True,
        unique_fields=["member", "channel", "purpose"],
        update_fields=["granted", "door", "changed_at", "record"],
    )  # fmt: skip
    return len(changing)


def marketing_consent_of(member):
    """{"sms": bool, "wechat": bool}: whether the member agrees to marketing on each channel
    now (the till's lookup shows it)."""
    granted = set(
        Consent.objects.filter(
            member=member, purpose=ConsentPurpose.MARKETING, granted=True
        ).values_list("channel", flat=True)
    )
    return {channel: channel in granted for channel in ConsentChannel.values}
