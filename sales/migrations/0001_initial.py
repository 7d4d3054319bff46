# Sales and refunds move out of loyalty into their own app, which orchestrates points, stored
# value and coupons. State only: the tables keep their names (loyalty_sale, ...).

import django.db.models.deletion
import django.utils.timezone
from decimal import Decimal

from django.conf import settings
from django.db import migrations, models

from core.migration_support import move_content_types


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ('loyalty', '0007_entries_no_longer_name_sales'),
        ('members', '0005_tiers_move_in'),
        ('wallet', '0001_initial'),
        ('stores', '0003_idempotency_record'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='SaleLine',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('line_no', models.PositiveSmallIntegerField(verbose_name='line')),
                        ('sku', models.CharField(max_length=64, verbose_name='SKU')),
                        ('name', models.CharField(blank=True, max_length=100, verbose_name='product')),
                        ('category', models.CharField(blank=True, max_length=50, verbose_name='category')),
                        ('qty', models.DecimalField(decimal_places=3, max_digits=12, verbose_name='quantity')),
                        ('amount', models.DecimalField(decimal_places=2, default=Decimal('0.00'), max_digits=12, verbose_name='amount')),
                        ('points_earned', models.IntegerField(default=0, verbose_name='points earned')),
                        ('points_redeemed', models.IntegerField(default=0, verbose_name='points redeemed')),
                        ('offset_amount', models.DecimalField(decimal_places=2, default=Decimal('0.00'), max_digits=12, verbose_name='points offset (yuan)')),
                        ('stored_value_amount', models.DecimalField(decimal_places=2, default=Decimal('0.00'), max_digits=12, verbose_name='paid from stored value')),
                        ('coupon_discount', models.DecimalField(decimal_places=2, default=Decimal('0.00'), max_digits=12, verbose_name='coupon discount')),
                        ('earning', models.JSONField(blank=True, default=dict, verbose_name='points by rule')),
                    ],
                    options={
                        'verbose_name': 'sale line',
                        'verbose_name_plural': 'sale lines',
                        'db_table': 'loyalty_saleline',
                        'ordering': ['sale', 'line_no'],
                    },
                ),
                migrations.CreateModel(
                    name='Refund',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('refund_no', models.CharField(max_length=64, verbose_name='refund no')),
                        ('amount', models.DecimalField(decimal_places=2, default=Decimal('0.00'), max_digits=12, verbose_name='amount refunded')),
                        ('amount_due', models.DecimalField(decimal_places=2, default=Decimal('0.00'), max_digits=12, verbose_name='qualifying amount refunded')),
                        ('points_reversed', models.IntegerField(default=0, verbose_name='earned points taken back')),
                        ('points_returned', models.IntegerField(default=0, verbose_name='redeemed points given back')),
                        ('offset_returned', models.DecimalField(decimal_places=2, default=Decimal('0.00'), max_digits=12, verbose_name='points offset returned (yuan)')),
                        ('stored_value_returned', models.DecimalField(decimal_places=2, default=Decimal('0.00'), max_digits=12, verbose_name='stored value returned')),
                        ('points_after', models.IntegerField(default=0, verbose_name='points after')),
                        ('stored_value_after', models.DecimalField(decimal_places=2, default=Decimal('0.00'), max_digits=12, verbose_name='stored value after')),
                        ('fingerprint', models.CharField(max_length=64, verbose_name='body fingerprint')),
                        ('source', models.CharField(choices=[('admin', 'Admin'), ('till', 'Till'), ('import', 'Import'), ('task', 'Background job'), ('command', 'Command')], max_length=10, verbose_name='source')),
                        ('created_at', models.DateTimeField(default=django.utils.timezone.now, verbose_name='time')),
                        ('actor', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='operator')),
                        ('member', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='members.member', verbose_name='member')),
                        ('return_entry', models.OneToOneField(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='loyalty.pointsentry', verbose_name='points given back entry')),
                        ('reverse_entry', models.OneToOneField(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='loyalty.pointsentry', verbose_name='points taken back entry')),
                        ('store', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='stores.store', verbose_name='store')),
                        ('terminal', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='stores.terminal', verbose_name='till')),
                    ],
                    options={
                        'verbose_name': 'refund',
                        'verbose_name_plural': 'refunds',
                        'db_table': 'loyalty_refund',
                        'ordering': ['-created_at', '-id'],
                    },
                ),
                migrations.CreateModel(
                    name='RefundLine',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('qty', models.DecimalField(decimal_places=3, max_digits=12, verbose_name='quantity')),
                        ('amount', models.DecimalField(decimal_places=2, default=Decimal('0.00'), max_digits=12, verbose_name='amount')),
                        ('points_reversed', models.IntegerField(default=0, verbose_name='earned points taken back')),
                        ('points_returned', models.IntegerField(default=0, verbose_name='redeemed points given back')),
                        ('offset_returned', models.DecimalField(decimal_places=2, default=Decimal('0.00'), max_digits=12, verbose_name='points offset returned (yuan)')),
                        ('stored_value_returned', models.DecimalField(decimal_places=2, default=Decimal('0.00'), max_digits=12, verbose_name='stored value returned')),
                        ('coupon_returned', models.DecimalField(decimal_places=2, default=Decimal('0.00'), max_digits=12, verbose_name='coupon discount returned')),
                        ('refund', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='lines', to='sales.refund', verbose_name='refund')),
                    ],
                    options={
                        'verbose_name': 'refund line',
                        'verbose_name_plural': 'refund lines',
                        'db_table': 'loyalty_refundline',
                    },
                ),
                migrations.CreateModel(
                    name='Sale',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('receipt_no', models.CharField(max_length=64, verbose_name='receipt no')),
                        ('total', models.DecimalField(decimal_places=2, default=Decimal('0.00'), max_digits=12, verbose_name='total')),
                        ('offset_amount', models.DecimalField(decimal_places=2, default=Decimal('0.00'), max_digits=12, verbose_name='points offset (yuan)')),
                        ('coupon_discount', models.DecimalField(decimal_places=2, default=Decimal('0.00'), max_digits=12, verbose_name='coupon discount')),
                        ('amount_due', models.DecimalField(decimal_places=2, default=Decimal('0.00'), help_text='Total less points offset and coupons.', max_digits=12, verbose_name='amount due')),
                        ('stored_value_amount', models.DecimalField(decimal_places=2, default=Decimal('0.00'), max_digits=12, verbose_name='paid from stored value')),
                        ('points_earned', models.IntegerField(default=0, verbose_name='points earned')),
                        ('points_redeemed', models.IntegerField(default=0, verbose_name='points redeemed')),
                        ('breakdown', models.JSONField(blank=True, default=dict, verbose_name='earning breakdown')),
                        ('points_after', models.IntegerField(default=0, verbose_name='points after')),
                        ('stored_value_after', models.DecimalField(decimal_places=2, default=Decimal('0.00'), max_digits=12, verbose_name='stored value after')),
                        ('fingerprint', models.CharField(max_length=64, verbose_name='body fingerprint')),
                        ('source', models.CharField(choices=[('admin', 'Admin'), ('till', 'Till'), ('import', 'Import'), ('task', 'Background job'), ('command', 'Command')], max_length=10, verbose_name='source')),
                        ('created_at', models.DateTimeField(default=django.utils.timezone.now, verbose_name='time')),
                        ('actor', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='operator')),
                        ('earn_entry', models.OneToOneField(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='loyalty.pointsentry', verbose_name='points earned entry')),
                        ('member', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='sales', to='members.member', verbose_name='member')),
                        ('redeem_entry', models.OneToOneField(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='loyalty.pointsentry', verbose_name='points redeemed entry')),
                        ('store', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='stores.store', verbose_name='store')),
                        ('terminal', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='stores.terminal', verbose_name='till')),
                        ('tier_after', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='members.tier', verbose_name='tier after')),
                        ('tier_before', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='members.tier', verbose_name='tier before')),
                    ],
                    options={
                        'verbose_name': 'sale',
                        'verbose_name_plural': 'sales',
                        'db_table': 'loyalty_sale',
                        'ordering': ['-created_at', '-id'],
                    },
                ),
                migrations.AddField(
                    model_name='sale',
                    name='wallet_entry',
                    field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='wallet.walletentry', verbose_name='stored-value payment'),
                ),
                migrations.AddField(
                    model_name='refund',
                    name='sale',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='refunds', to='sales.sale', verbose_name='sale'),
                ),
                migrations.AddField(
                    model_name='saleline',
                    name='sale',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='lines', to='sales.sale', verbose_name='sale'),
                ),
                migrations.AddField(
                    model_name='refundline',
                    name='sale_line',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='refunds', to='sales.saleline', verbose_name='sale line'),
                ),
                migrations.AddIndex(
                    model_name='sale',
                    index=models.Index(fields=['member', 'created_at'], name='loyalty_sal_member__6f7d23_idx'),
                ),
                migrations.AddIndex(
                    model_name='sale',
                    index=models.Index(fields=['store', 'created_at'], name='loyalty_sal_store_i_bf3476_idx'),
                ),
                migrations.AddConstraint(
                    model_name='sale',
                    constraint=models.UniqueConstraint(fields=('store', 'receipt_no'), name='sale_unique_receipt'),
                ),
                migrations.AddIndex(
                    model_name='refund',
                    index=models.Index(fields=['member', 'created_at'], name='loyalty_ref_member__eb28c1_idx'),
                ),
                migrations.AddConstraint(
                    model_name='refund',
                    constraint=models.UniqueConstraint(fields=('sale', 'refund_no'), name='refund_unique_no'),
                ),
                migrations.AddConstraint(
                    model_name='saleline',
                    constraint=models.UniqueConstraint(fields=('sale', 'line_no'), name='saleline_unique_no'),
                ),
                migrations.AddConstraint(
                    model_name='saleline',
                    constraint=models.CheckConstraint(condition=models.Q(('qty__gt', 0)), name='saleline_qty_gt_0'),
                ),
            ],
            database_operations=[
            ],
        ),
        move_content_types('loyalty', 'sales', ['sale', 'saleline', 'refund', 'refundline']),
    ]
