# Count cards move out of members into their own app. State only: the tables keep their
# names (members_countcardpackage, members_membercountcard, members_countcardentry).

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
        ('wallet', '0001_initial'),
        ('stores', '0003_idempotency_record'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='CountCardPackage',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('code', models.CharField(max_length=20, unique=True, verbose_name='code')),
                        ('name', models.CharField(max_length=50, verbose_name='name')),
                        ('visits', models.PositiveIntegerField(verbose_name='visits')),
                        ('price', models.DecimalField(decimal_places=2, max_digits=12, verbose_name='price')),
                        ('valid_days', models.PositiveIntegerField(help_text='Days from sale (or renewal) until unused visits expire.', verbose_name='valid days')),
                        ('is_active', models.BooleanField(default=True, verbose_name='active')),
                    ],
                    options={
                        'verbose_name': 'count-card package',
                        'verbose_name_plural': 'count-card packages',
                        'db_table': 'members_countcardpackage',
                        'ordering': ['code'],
                    },
                ),
                migrations.CreateModel(
                    name='MemberCountCard',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('visits_left', models.IntegerField(default=0, verbose_name='visits left')),
                        ('expires_at', models.DateTimeField(verbose_name='expires at')),
                        ('created_at', models.DateTimeField(default=django.utils.timezone.now, verbose_name='sold at (time)')),
                    ],
                    options={
                        'verbose_name': 'member count card',
                        'verbose_name_plural': 'member count cards',
                        'db_table': 'members_membercountcard',
                        'ordering': ['-created_at', '-id'],
                    },
                ),
                migrations.CreateModel(
                    name='CountCardEntry',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('source', models.CharField(choices=[('admin', 'Admin'), ('till', 'Till'), ('import', 'Import'), ('task', 'Background job'), ('command', 'Command')], max_length=10, verbose_name='source')),
                        ('reason', models.CharField(blank=True, max_length=200, verbose_name='reason')),
                        ('key', models.CharField(blank=True, max_length=150, null=True, unique=True, verbose_name='idempotency key')),
                        ('kind', models.CharField(choices=[('sale', 'Sold'), ('use', 'Visit used'), ('renew', 'Renewed'), ('expire', 'Expired'), ('adjustment', 'Adjustment')], max_length=20, verbose_name='kind')),
                        ('visits', models.IntegerField(verbose_name='visits change')),
                        ('visits_after', models.IntegerField(verbose_name='visits after')),
                        ('expires_after', models.DateTimeField(verbose_name='expiry after')),
                        ('amount', models.DecimalField(decimal_places=2, default=Decimal('0.00'), max_digits=12, verbose_name='amount paid')),
                        ('reference', models.CharField(blank=True, max_length=100, verbose_name='reference')),
                        ('created_at', models.DateTimeField(default=django.utils.timezone.now, verbose_name='time')),
                        ('actor', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='operator')),
                        ('store', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='stores.store', verbose_name='store')),
                        ('terminal', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='stores.terminal', verbose_name='till')),
                    ],
                    options={
                        'verbose_name': 'count-card entry',
                        'verbose_name_plural': 'count-card ledger',
                        'db_table': 'members_countcardentry',
                        'ordering': ['-created_at', '-id'],
                    },
                ),
                migrations.AddField(
                    model_name='countcardentry',
                    name='wallet_entry',
                    field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='wallet.walletentry', verbose_name='paid from stored value'),
                ),
                migrations.AddConstraint(
                    model_name='countcardpackage',
                    constraint=models.CheckConstraint(condition=models.Q(('visits__gt', 0)), name='countcardpackage_visits_gt_0'),
                ),
                migrations.AddConstraint(
                    model_name='countcardpackage',
                    constraint=models.CheckConstraint(condition=models.Q(('price__gte', 0)), name='countcardpackage_price_gte_0'),
                ),
                migrations.AddConstraint(
                    model_name='countcardpackage',
                    constraint=models.CheckConstraint(condition=models.Q(('valid_days__gt', 0)), name='countcardpackage_days_gt_0'),
                ),
                migrations.AddField(
                    model_name='membercountcard',
                    name='member',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='count_cards', to='members.member', verbose_name='member'),
                ),
                migrations.AddField(
                    model_name='membercountcard',
                    name='package',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='countcards.countcardpackage', verbose_name='package'),
                ),
                migrations.AddField(
                    model_name='membercountcard',
                    name='store',
                    field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='stores.store', verbose_name='sold at'),
                ),
                migrations.AddField(
                    model_name='countcardentry',
                    name='card',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='entries', to='countcards.membercountcard', verbose_name='count card'),
                ),
                migrations.AddIndex(
                    model_name='membercountcard',
                    index=models.Index(condition=models.Q(('visits_left__gt', 0)), fields=['expires_at'], name='countcard_open_expiry'),
                ),
                migrations.AddConstraint(
                    model_name='membercountcard',
                    constraint=models.CheckConstraint(condition=models.Q(('visits_left__gte', 0)), name='countcard_visits_gte_0'),
                ),
                migrations.AddIndex(
                    model_name='countcardentry',
                    index=models.Index(fields=['card', 'created_at'], name='members_cou_card_id_04c49a_idx'),
                ),
            ],
            database_operations=[
            ],
        ),
        move_content_types('members', 'countcards', ['countcardpackage', 'membercountcard', 'countcardentry']),
    ]
