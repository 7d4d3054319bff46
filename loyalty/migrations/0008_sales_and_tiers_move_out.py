# Sales (now in sales) and tiers (now in members) leave loyalty's state; their tables stay.

import django.db.models.deletion
import django.utils.timezone
from decimal import Decimal

from django.conf import settings
from django.db import migrations, models

from core.migration_support import move_content_types


class Migration(migrations.Migration):
    dependencies = [
        ('loyalty', '0007_entries_no_longer_name_sales'),
        ('sales', '0001_initial'),
        ('members', '0005_tiers_move_in'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveField(
                    model_name='refund',
                    name='actor',
                ),
                migrations.RemoveField(
                    model_name='refund',
                    name='member',
                ),
                migrations.RemoveField(
                    model_name='refund',
                    name='return_entry',
                ),
                migrations.RemoveField(
                    model_name='refund',
                    name='reverse_entry',
                ),
                migrations.RemoveField(
                    model_name='refund',
                    name='sale',
                ),
                migrations.RemoveField(
                    model_name='refund',
                    name='store',
                ),
                migrations.RemoveField(
                    model_name='refund',
                    name='terminal',
                ),
                migrations.RemoveField(
                    model_name='refundline',
                    name='refund',
                ),
                migrations.RemoveField(
                    model_name='refundline',
                    name='sale_line',
                ),
                migrations.RemoveField(
                    model_name='sale',
                    name='actor',
                ),
                migrations.RemoveField(
                    model_name='sale',
                    name='earn_entry',
                ),
                migrations.RemoveField(
                    model_name='sale',
                    name='member',
                ),
                migrations.RemoveField(
                    model_name='sale',
                    name='redeem_entry',
                ),
                migrations.RemoveField(
                    model_name='sale',
                    name='store',
                ),
                migrations.RemoveField(
                    model_name='sale',
                    name='terminal',
                ),
                migrations.RemoveField(
                    model_name='sale',
                    name='tier_after',
                ),
                migrations.RemoveField(
                    model_name='sale',
                    name='tier_before',
                ),
                migrations.RemoveField(
                    model_name='sale',
                    name='wallet_entry',
                ),
                migrations.RemoveField(
                    model_name='saleline',
                    name='sale',
                ),
                migrations.RemoveField(
                    model_name='tierchange',
                    name='to_tier',
                ),
                migrations.RemoveField(
                    model_name='tierchange',
                    name='from_tier',
                ),
                migrations.RemoveField(
                    model_name='tierchange',
                    name='actor',
                ),
                migrations.RemoveField(
                    model_name='tierchange',
                    name='member',
                ),
                migrations.AlterField(
                    model_name='earningrule',
                    name='tiers',
                    field=models.ManyToManyField(blank=True, help_text='Empty: every tier.', related_name='+', to='members.tier', verbose_name='tiers'),
                ),
                migrations.DeleteModel(
                    name='Refund',
                ),
                migrations.DeleteModel(
                    name='RefundLine',
                ),
                migrations.DeleteModel(
                    name='Sale',
                ),
                migrations.DeleteModel(
                    name='SaleLine',
                ),
                migrations.DeleteModel(
                    name='Tier',
                ),
                migrations.DeleteModel(
                    name='TierChange',
                ),
            ],
            database_operations=[
            ],
        ),
    ]
