"""Admin for tiers (会员等级) and the history of members' tier changes."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from core.admin import HistoryAdmin, ReadOnlyAdmin, money_column
from members.models import Tier, TierChange
from stores.access import StoreScopedAdminMixin


@admin.register(Tier)
class TierAdmin(HistoryAdmin):
    list_display = [
        "rank",
        "name",
        "code",
        "is_default",
        money_column("upgrade_spend", model=Tier),
        "upgrade_points",
        "window",
        "points_multiplier",
        "discount_percent",
        "birthday_bonus",
    ]
    list_display_links = ["name"]
    fieldsets = [
        (None, {"fields": ["rank", "code", "name", "is_default"]}),
        (
            _("Upgrade"),
            {"fields": ["upgrade_spend", "upgrade_points", "threshold_logic", "window"]},
        ),
        (_("Retention (monthly review)"), {"fields": ["retain_spend", "retain_points"]}),
        (_("Benefits"), {"fields": ["points_multiplier", "discount_percent", "birthday_bonus"]}),
    ]


@admin.register(TierChange)
class TierChangeAdmin(StoreScopedAdminMixin, ReadOnlyAdmin):
    store_field = "member__home_store"
    list_display = ["created_at", "member", "from_tier", "to_tier", "reason", "detail", "source"]
    list_filter = ["reason", "to_tier"]
    list_select_related = ["member", "from_tier", "to_tier"]
    raw_id_fields = ["member"]
    search_fields = ["=member__member_no", "=reference"]
