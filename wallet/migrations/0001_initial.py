# Stored value moves out of members into its own app. State only: the tables keep the names
# they were created with (members_wallet, members_walletentry, ...).

import django.db.models.deletion
import django.utils.timezone
from decimal import Decimal

from django.conf import settings
from django.db import migrations, models

from core.migration_support import move_content_types


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ('members', '0005_tiers_move_in'),
        ('stores', '0003_idempotency_record'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='RechargePlan',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('code', models.CharField(max_length=20, unique=True, verbose_name='code')),
                        ('name', models.CharField(max_length=50, verbose_name='name')),
                        ('pay_amount', models.DecimalField(decimal_places=2, help_text="The least the member pays in to get this plan's bonus.", max_digits=12, verbose_name='recharge amount')),
                        ('bonus_amount', models.DecimalField(decimal_places=2, default=Decimal('0.00'), max_digits=12, verbose_name='bonus stored value')),
                        ('bonus_points', models.PositiveIntegerField(default=0, verbose_name='bonus points')),
                        ('starts_at', models.DateTimeField(blank=True, null=True, verbose_name='valid from')),
                        ('ends_at', models.DateTimeField(blank=True, null=True, verbose_name='valid until')),
                        ('is_active', models.BooleanField(default=True, verbose_name='active')),
                        ('stores', models.ManyToManyField(blank=True, help_text='Leave empty for every store.', related_name='+', to='stores.store', verbose_name='stores')),
                    ],
                    options={
                        'verbose_name': 'recharge plan',
                        'verbose_name_plural': 'recharge plans',
                        'db_table': 'members_rechargeplan',
                        'ordering': ['pay_amount', 'code'],
                    },
                ),
                migrations.CreateModel(
                    name='Wallet',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('principal', models.DecimalField(decimal_places=2, default=Decimal('0.00'), max_digits=12, verbose_name='principal')),
                        ('bonus', models.DecimalField(decimal_places=2, default=Decimal('0.00'), max_digits=12, verbose_name='bonus')),
                        ('updated_at', models.DateTimeField(auto_now=True, verbose_name='updated at')),
                        ('member', models.OneToOneField(on_delete=django.db.models.deletion.PROTECT, related_name='wallet', to='members.member', verbose_name='member')),
                    ],
                    options={
                        'verbose_name': 'stored-value wallet',
                        'verbose_name_plural': 'stored-value wallets',
                        'db_table': 'members_wallet',
                    },
                ),
                migrations.CreateModel(
                    name='WalletEntry',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('source', models.CharField(choices=[('admin', 'Admin'), ('till', 'Till'), ('import', 'Import'), ('task', 'Background job'), ('command', 'Command')], max_length=10, verbose_name='source')),
                        ('reason', models.CharField(blank=True, max_length=200, verbose_name='reason')),
                        ('key', models.CharField(blank=True, max_length=150, null=True, unique=True, verbose_name='idempotency key')),
                        ('kind', models.CharField(choices=[('opening', 'Opening balance'), ('recharge', 'Recharge'), ('payment', 'Payment'), ('refund', 'Refund'), ('withdrawal', 'Withdrawal'), ('transfer_in', 'Transfer in'), ('transfer_out', 'Transfer out'), ('adjustment', 'Adjustment'), ('bonus_forfeit', 'Bonus forfeited')], max_length=20, verbose_name='kind')),
                        ('principal', models.DecimalField(decimal_places=2, max_digits=12, verbose_name='principal change')),
                        ('bonus', models.DecimalField(decimal_places=2, max_digits=12, verbose_name='bonus change')),
                        ('principal_after', models.DecimalField(decimal_places=2, max_digits=12, verbose_name='principal after')),
                        ('bonus_after', models.DecimalField(decimal_places=2, max_digits=12, verbose_name='bonus after')),
                        ('reference', models.CharField(blank=True, help_text='Receipt no, refund no, recharge no or import row.', max_length=100, verbose_name='reference')),
                        ('created_at', models.DateTimeField(db_index=True, default=django.utils.timezone.now, verbose_name='time')),
                        ('actor', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='operator')),
                        ('plan', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='wallet.rechargeplan', verbose_name='recharge plan')),
                        ('reverses', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='reversals', to='wallet.walletentry', verbose_name='reverses')),
                        ('store', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='stores.store', verbose_name='store')),
                        ('terminal', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='stores.terminal', verbose_name='till')),
                        ('wallet', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='entries', to='wallet.wallet', verbose_name='wallet')),
                    ],
                    options={
                        'verbose_name': 'stored-value entry',
                        'verbose_name_plural': 'stored-value ledger',
                        'db_table': 'members_walletentry',
                        'ordering': ['-created_at', '-id'],
                    },
                ),
                migrations.CreateModel(
                    name='Transfer',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('amount', models.DecimalField(decimal_places=2, max_digits=12, verbose_name='amount')),
                        ('reason', models.CharField(blank=True, max_length=200, verbose_name='reason')),
                        ('source', models.CharField(choices=[('admin', 'Admin'), ('till', 'Till'), ('import', 'Import'), ('task', 'Background job'), ('command', 'Command')], max_length=10, verbose_name='source')),
                        ('key', models.CharField(blank=True, max_length=150, null=True, unique=True, verbose_name='idempotency key')),
                        ('created_at', models.DateTimeField(default=django.utils.timezone.now, verbose_name='time')),
                        ('actor', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='operator')),
                        ('from_member', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='members.member', verbose_name='from member')),
                        ('store', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='stores.store', verbose_name='store')),
                        ('to_member', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='members.member', verbose_name='to member')),
                        ('in_entry', models.OneToOneField(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='wallet.walletentry', verbose_name='transfer-in entry')),
                        ('out_entry', models.OneToOneField(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='wallet.walletentry', verbose_name='transfer-out entry')),
                    ],
                    options={
                        'verbose_name': 'stored-value transfer',
                        'verbose_name_plural': 'stored-value transfers',
                        'db_table': 'members_transfer',
                        'ordering': ['-created_at', '-id'],
                    },
                ),
                migrations.CreateModel(
                    name='WithdrawalRequest',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('amount', models.DecimalField(decimal_places=2, max_digits=12, verbose_name='principal to pay out')),
                        ('reason', models.CharField(max_length=200, verbose_name='reason')),
                        ('status', models.CharField(choices=[('pending', 'Pending approval'), ('approved', 'Approved and paid'), ('rejected', 'Rejected')], default='pending', max_length=10, verbose_name='status')),
                        ('requested_at', models.DateTimeField(default=django.utils.timezone.now, verbose_name='requested at')),
                        ('source', models.CharField(choices=[('admin', 'Admin'), ('till', 'Till'), ('import', 'Import'), ('task', 'Background job'), ('command', 'Command')], max_length=10, verbose_name='source')),
                        ('decided_at', models.DateTimeField(blank=True, null=True, verbose_name='decided at')),
                        ('decision_note', models.CharField(blank=True, max_length=200, verbose_name='decision note')),
                        ('key', models.CharField(blank=True, max_length=150, null=True, unique=True, verbose_name='idempotency key')),
                        ('decided_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='decided by')),
                        ('entry', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='wallet.walletentry', verbose_name='withdrawal entry')),
                        ('forfeit_entry', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='wallet.walletentry', verbose_name='forfeit entry')),
                        ('member', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='members.member', verbose_name='member')),
                        ('requested_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='requested by')),
                        ('store', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='stores.store', verbose_name='store')),
                    ],
                    options={
                        'verbose_name': 'withdrawal request',
                        'verbose_name_plural': 'withdrawal requests',
                        'db_table': 'members_withdrawalrequest',
                        'ordering': ['-requested_at', '-id'],
                        'permissions': [('approve_withdrawal', 'Can approve stored-value withdrawals')],
                    },
                ),
                migrations.AddConstraint(
                    model_name='rechargeplan',
                    constraint=models.CheckConstraint(condition=models.Q(('pay_amount__gt', 0)), name='rechargeplan_pay_gt_0'),
                ),
                migrations.AddConstraint(
                    model_name='rechargeplan',
                    constraint=models.CheckConstraint(condition=models.Q(('bonus_amount__gte', 0)), name='rechargeplan_bonus_gte_0'),
                ),
                migrations.AddConstraint(
                    model_name='wallet',
                    constraint=models.CheckConstraint(condition=models.Q(('principal__gte', 0)), name='wallet_principal_gte_0'),
                ),
                migrations.AddConstraint(
                    model_name='wallet',
                    constraint=models.CheckConstraint(condition=models.Q(('bonus__gte', 0)), name='wallet_bonus_gte_0'),
                ),
                migrations.AddIndex(
                    model_name='walletentry',
                    index=models.Index(fields=['wallet', 'created_at'], name='members_wal_wallet__0ea777_idx'),
                ),
                migrations.AddIndex(
                    model_name='walletentry',
                    index=models.Index(fields=['store', 'kind', 'created_at'], name='members_wal_store_i_98478e_idx'),
                ),
                migrations.AddConstraint(
                    model_name='transfer',
                    constraint=models.CheckConstraint(condition=models.Q(('amount__gt', 0)), name='transfer_amount_gt_0'),
                ),
                migrations.AddConstraint(
                    model_name='transfer',
                    constraint=models.CheckConstraint(condition=models.Q(('from_member', models.F('to_member')), _negated=True), name='transfer_not_to_self'),
                ),
                migrations.AddIndex(
                    model_name='withdrawalrequest',
                    index=models.Index(fields=['status', 'requested_at'], name='members_wit_status_dab721_idx'),
                ),
                migrations.AddConstraint(
                    model_name='withdrawalrequest',
                    constraint=models.CheckConstraint(condition=models.Q(('amount__gt', 0)), name='withdrawal_amount_gt_0'),
                ),
            ],
            database_operations=[
            ],
        ),
        move_content_types('members', 'wallet', ['wallet', 'walletentry', 'rechargeplan', 'withdrawalrequest', 'transfer']),
    ]
