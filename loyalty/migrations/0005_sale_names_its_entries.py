# Before sales and tiers leave loyalty (sales/0001, members/0005), the references that would
# point up the new dependency order are turned around, keeping every fact:
# - a points entry no longer names its sale or refund; the sale and the refund name the entries
#   they produced, and keep the balances they answered the till with;
# - a tier change names its sale by store and receipt number instead of a foreign key;
# - tier progress over a rolling window comes from loyalty's own monthly counters
#   (TierProgress), filled here from the sales and refunds already posted.

import django.db.models.deletion
from decimal import Decimal

from django.db import migrations, models

def _entry(verbose_name):
    return models.OneToOneField(
        blank=True,
        null=True,
        on_delete=django.db.models.deletion.PROTECT,
        related_name="+",
        to="loyalty.pointsentry",
        verbose_name=verbose_name,
    )


def _money(verbose_name):
    return models.DecimalField(
        decimal_places=2, default=Decimal("0.00"), max_digits=12, verbose_name=verbose_name
    )


class Migration(migrations.Migration):
    dependencies = [
        ("loyalty", "0004_rule_book_version"),
        ("members", "0004_member_full_name_label"),
        ("stores", "0003_idempotency_record"),
    ]

    operations = [
        migrations.AddField("sale", "redeem_entry", _entry("points redeemed entry")),
        migrations.AddField("sale", "earn_entry", _entry("points earned entry")),
        migrations.AddField(
            "sale", "points_after", models.IntegerField(default=0, verbose_name="points after")
        ),
        migrations.AddField("sale", "stored_value_after", _money("stored value after")),
        migrations.AddField("refund", "return_entry", _entry("points given back entry")),
        migrations.AddField("refund", "reverse_entry", _entry("points taken back entry")),
        migrations.AddField(
            "refund", "points_after", models.IntegerField(default=0, verbose_name="points after")
        ),
        migrations.AddField("refund", "stored_value_after", _money("stored value after")),
        migrations.AddField(
            "tierchange",
            "reference",
            models.CharField(blank=True, max_length=100, verbose_name="reference"),
        ),
        migrations.CreateModel(
            name="TierProgress",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "month",
                    models.DateField(help_text="The first day of the month.", verbose_name="month"),
                ),
                (
                    "spend",
                    models.DecimalField(
                        decimal_places=2,
                        default=Decimal("0.00"),
                        max_digits=14,
                        verbose_name="qualifying spend",
                    ),
                ),
                ("points", models.IntegerField(default=0, verbose_name="points earned on sales")),
                (
                    "account",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="progress",
                        to="loyalty.pointsaccount",
                        verbose_name="account",
                    ),
                ),
            ],
            options={
                "verbose_name": "tier progress",
                "verbose_name_plural": "tier progress",
                "constraints": [
                    models.UniqueConstraint(
                        fields=("account", "month"), name="tierprogress_unique_month"
                    )
                ],
            },
        ),
    ]
