"""Sales and refunds as the till posted them, with what each line earned and used."""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.models import Source

ZERO = Decimal("0.00")


def _money(verbose_name, **kwargs):
    return models.DecimalField(
        verbose_name, max_digits=12, decimal_places=2, default=ZERO, **kwargs
    )


def _entry(verbose_name):
    return models.OneToOneField(
        "loyalty.PointsEntry",
        verbose_name=verbose_name,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )


class Sale(models.Model):
    """A member's checkout. `breakdown` keeps the rules and figures it was computed with, so a
    later rule change never rewrites what this sale earned."""

    store = models.ForeignKey(
        "stores.Store", verbose_name=_("store"), on_delete=models.PROTECT, related_name="+"
    )
    terminal = models.ForeignKey(
        "stores.Terminal",
        verbose_name=_("till"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    member = models.ForeignKey(
        "members.Member", verbose_name=_("member"), on_delete=models.PROTECT, related_name="sales"
    )
    receipt_no = models.CharField(_("receipt no"), max_length=64)
    total = _money(_("total"))
    offset_amount = _money(_("points offset (yuan)"))
    coupon_discount = _money(_("coupon discount"))
    # What the member paid (stored value counts as paid): what earns points and tier progress.
    # The till's `amount_due` (still to collect) is this less the stored value used.
    amount_due = _money(_("amount paid"), help_text=_("Total less points offset and coupons."))
    stored_value_amount = _money(_("paid from stored value"))
    points_earned = models.IntegerField(_("points earned"), default=0)
    points_redeemed = models.IntegerField(_("points redeemed"), default=0)
    breakdown = models.JSONField(_("earning breakdown"), default=dict, blank=True)
    tier_before = models.ForeignKey(
        "members.Tier",
        verbose_name=_("tier before"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    tier_after = models.ForeignKey(
        "members.Tier",
        verbose_name=_("tier after"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    wallet_entry = models.ForeignKey(
        "wallet.WalletEntry",
        verbose_name=_("stored-value payment"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    # The points entries this sale produced, and the balances right after it (the till printed
    # them; a till that lost the answer gets them back from GET /sales/{receipt_no}).
    redeem_entry = _entry(_("points redeemed entry"))
    earn_entry = _entry(_("points earned entry"))
    points_after = models.IntegerField(_("points after"), default=0)
    stored_value_after = _money(_("stored value after"))
    # This sale paid the member's referral bonus (both sides): wholly refunded, it takes both
    # back, so a referral cannot be bought, earned and returned.
    referral_bonus = models.BooleanField(_("paid the referral bonus"), default=False)
    fingerprint = models.CharField(_("body fingerprint"), max_length=64)
    source = models.CharField(_("source"), max_length=10, choices=Source.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("operator"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("time"), default=timezone.now)

    class Meta:
        db_table = "loyalty_sale"  # created in loyalty, kept when it moved
        verbose_name = _("sale")
        verbose_name_plural = _("sales")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["store", "receipt_no"], name="sale_unique_receipt"),
        ]
        indexes = [
            models.Index(fields=["member", "created_at"]),
            models.Index(fields=["store", "created_at"]),
        ]

    def __str__(self):
        return f"{self.store.code}/{self.receipt_no}"

    @property
    def tier_changed(self):
        return self.tier_after_id is not None and self.tier_after_id != self.tier_before_id


class SaleLine(models.Model):
    """One line of a sale with its share of everything the sale earned and used."""

    sale = models.ForeignKey(
        Sale, verbose_name=_("sale"), on_delete=models.CASCADE, related_name="lines"
    )
    line_no = models.PositiveSmallIntegerField(_("line"))
    sku = models.CharField(_("SKU"), max_length=64)
    name = models.CharField(_("product"), max_length=100, blank=True)
    category = models.CharField(_("category"), max_length=50, blank=True)
    qty = models.DecimalField(_("quantity"), max_digits=12, decimal_places=3)
    amount = _money(_("amount"))
    points_earned = models.IntegerField(_("points earned"), default=0)
    points_redeemed = models.IntegerField(_("points redeemed"), default=0)
    offset_amount = _money(_("points offset (yuan)"))
    stored_value_amount = _money(_("paid from stored value"))
    coupon_discount = _money(_("coupon discount"))
    earning = models.JSONField(_("points by rule"), default=dict, blank=True)

    class Meta:
        db_table = "loyalty_saleline"  # created in loyalty, kept when it moved
        verbose_name = _("sale line")
        verbose_name_plural = _("sale lines")
        ordering = ["sale", "line_no"]
        constraints = [
            models.UniqueConstraint(fields=["sale", "line_no"], name="saleline_unique_no"),
            models.CheckConstraint(condition=Q(qty__gt=0), name="saleline_qty_gt_0"),
        ]

    def __str__(self):
        return f"{self.sku} × {self.qty}"


class Refund(models.Model):
    """A full or partial refund. Reverses what the refunded lines earned and returns what they
    used, in proportion to quantity within a line; never more than the sale had."""

    sale = models.ForeignKey(
        Sale, verbose_name=_("sale"), on_delete=models.PROTECT, related_name="refunds"
    )
    refund_no = models.CharField(_("refund no"), max_length=64)
    store = models.ForeignKey(
        "stores.Store", verbose_name=_("store"), on_delete=models.PROTECT, related_name="+"
    )
    terminal = models.ForeignKey(
        "stores.Terminal",
        verbose_name=_("till"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    member = models.ForeignKey(
        "members.Member", verbose_name=_("member"), on_delete=models.PROTECT, related_name="+"
    )
    amount = _money(_("amount refunded"))
    amount_due = _money(_("qualifying amount refunded"))
    points_reversed = models.IntegerField(_("earned points taken back"), default=0)
    points_returned = models.IntegerField(_("redeemed points given back"), default=0)
    offset_returned = _money(_("points offset returned (yuan)"))
    stored_value_returned = _money(_("stored value returned"))
    # The kept lines re-priced (a coupon threshold they no longer reach, a discount they now
    # carry more of): taken back from what this refund returns, or, negative, paid back on top
    # (see sales.services.refund_sale). `clawed_coupons`: each coupon's part, {code: yuan}.
    coupon_clawback = _money(_("coupon discount taken back"))
    clawed_coupons = models.JSONField(_("coupons taken back"), default=dict, blank=True)
    coupons_returned = models.JSONField(_("coupons returned"), default=list, blank=True)
    return_entry = _entry(_("points given back entry"))
    reverse_entry = _entry(_("points taken back entry"))
    points_after = models.IntegerField(_("points after"), default=0)
    stored_value_after = _money(_("stored value after"))
    fingerprint = models.CharField(_("body fingerprint"), max_length=64)
    source = models.CharField(_("source"), max_length=10, choices=Source.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("operator"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("time"), default=timezone.now)

    class Meta:
        db_table = "loyalty_refund"  # created in loyalty, kept when it moved
        verbose_name = _("refund")
        verbose_name_plural = _("refunds")
        ordering = ["-created_at", "-id"]
        constraints = [
            # Unique per store for ever, like receipt numbers: a till that retries a refund
            # under a fresh Idempotency-Key gets the first refund back, never a second one.
            models.UniqueConstraint(fields=["store", "refund_no"], name="refund_unique_store_no"),
        ]
        indexes = [models.Index(fields=["member", "created_at"])]

    def __str__(self):
        return f"{self.sale}/{self.refund_no}"


class RefundLine(models.Model):
    refund = models.ForeignKey(
        Refund, verbose_name=_("refund"), on_delete=models.CASCADE, related_name="lines"
    )
    sale_line = models.ForeignKey(
        SaleLine, verbose_name=_("sale line"), on_delete=models.PROTECT, related_name="refunds"
    )
    qty = models.DecimalField(_("quantity"), max_digits=12, decimal_places=3)
    amount = _money(_("amount"))
    points_reversed = models.IntegerField(_("earned points taken back"), default=0)
    points_returned = models.IntegerField(_("redeemed points given back"), default=0)
    offset_returned = _money(_("points offset returned (yuan)"))
    stored_value_returned = _money(_("stored value returned"))
    coupon_returned = _money(_("coupon discount returned"))

    class Meta:
        db_table = "loyalty_refundline"  # created in loyalty, kept when it moved
        verbose_name = _("refund line")
        verbose_name_plural = _("refund lines")

    def __str__(self):
        return f"{self.sale_line.sku} × {self.qty}"


class SaleCoupon(models.Model):
    """A coupon a sale used, with its discount and that discount's share of each line (by line
    number): a refund gives back exactly the share of the lines it takes."""

    sale = models.ForeignKey(
        Sale, verbose_name=_("sale"), on_delete=models.CASCADE, related_name="coupons"
    )
    coupon = models.ForeignKey(
        "coupons.Coupon",
        verbose_name=_("coupon"),
        on_delete=models.PROTECT,
        related_name="sale_uses",
    )
    discount = _money(_("discount"))
    lines = models.JSONField(_("discount by line"), default=dict)

    class Meta:
        verbose_name = _("coupon used on a sale")
        verbose_name_plural = _("coupons used on sales")
        constraints = [
            models.UniqueConstraint(fields=["sale", "coupon"], name="salecoupon_unique"),
        ]

    def __str__(self):
        return f"{self.sale} {self.coupon}"
