"""The payments ledger, draft orders, staff notes, edits and returns.

- ``Payment``: every charge and refund, append-only. A database trigger refuses any DELETE and any
  UPDATE but the one the service makes when the provider answers (a pending row gets its outcome:
  status, reference, failure, settled time; nothing else changes), and a user's deletion clearing
  ``user``.
- Orders get ``credited`` (taken off the total after the sale) and ``shipped_at``; the total is now
  what the customer owes (subtotal + tax - credited, a check constraint).
- Existing orders are carried over: their one payment reference becomes a succeeded charge of the
  order's value, cancelled and refunded orders that had been charged get the refund the old service
  made (their total is then 0, all of it credited), shipped and completed orders get a shipping time
  (their last change, the best there is), and each ``internal_note`` becomes the order's first note.
  All set-based, for a million orders.
- ``fake_gateway_operation``: the fake payment provider's own records (orders.payments), seeded with
  the charges and refunds carried over, so that it knows the references our orders point to.
"""

import core.tenancy
import django.core.validators
import django.db.models.deletion
import django.db.models.expressions
import django.db.models.manager
import django.utils.timezone
from decimal import Decimal
from django.conf import settings
from django.db import migrations, models

CARRY_OVER = [
    """
    INSERT INTO orders_ordernote (tenant_id, order_id, author_id, text, created_at)
    SELECT tenant_id, id, NULL, internal_note, updated_at FROM orders_order WHERE internal_note <> ''
    """,
    """
    INSERT INTO orders_payment (tenant_id, order_id, kind, status, purpose, amount, currency,
        idempotency_key, gateway_reference, charge_id, batch, user_id, reason, failure, created_at,
        settled_at, order_edit_id, order_return_id)
    SELECT tenant_id, id, 'charge', 'succeeded', 'placement', subtotal + tax, %(currency)s,
        'carried-over-charge-' || id, payment_reference, NULL, gen_random_uuid(), NULL,
        'Charged before the payments ledger', '', created_at, created_at, NULL, NULL
    FROM orders_order WHERE payment_reference <> '' AND subtotal + tax > 0
    """,
    """
    INSERT INTO orders_payment (tenant_id, order_id, kind, status, purpose, amount, currency,
        idempotency_key, gateway_reference, charge_id, batch, user_id, reason, failure, created_at,
        settled_at, order_edit_id, order_return_id)
    SELECT o.tenant_id, o.id, 'refund', 'succeeded',
        CASE o.status WHEN 'cancelled' THEN 'cancellation' ELSE 'refund' END, c.amount, c.currency,
        'carried-over-refund-' || o.id, 'carried-over-refund-' || o.id, c.id, gen_random_uuid(), NULL,
        'Refunded before the payments ledger', '', o.updated_at, o.updated_at, NULL, NULL
    FROM orders_order AS o JOIN orders_payment AS c ON c.order_id = o.id AND c.kind = 'charge'
    WHERE o.status IN ('cancelled', 'refunded')
    """,
    "UPDATE orders_order SET credited = subtotal + tax, total = 0 WHERE status IN ('cancelled', 'refunded')",
    "UPDATE orders_order SET shipped_at = updated_at WHERE status IN ('shipped', 'completed')",
]


def notes_and_payments_from_old_fields(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        for statement in CARRY_OVER:
            cursor.execute(statement, {"currency": settings.ORDER_CURRENCY})


OUTCOME_COLUMNS = "ARRAY['status', 'gateway_reference', 'failure', 'settled_at']"
LEDGER_GUARD = [
    f"""
    CREATE OR REPLACE FUNCTION orders_payment_append_only() RETURNS trigger AS $$
    BEGIN
        IF TG_OP = 'UPDATE' AND OLD.status = 'pending' AND NEW.status IN ('succeeded', 'failed')
           AND to_jsonb(NEW) - {OUTCOME_COLUMNS} = to_jsonb(OLD) - {OUTCOME_COLUMNS} THEN
            RETURN NEW;
        END IF;
        IF TG_OP = 'UPDATE' AND NEW.user_id IS NULL
           AND to_jsonb(NEW) - 'user_id' = to_jsonb(OLD) - 'user_id' THEN
            RETURN NEW;
        END IF;
        RAISE EXCEPTION 'payments are append-only: a pending payment gets its outcome once; money '
            'given back is a new refund';
    END;
    $$ LANGUAGE plpgsql
    """,
    """
    CREATE TRIGGER orders_payment_append_only BEFORE UPDATE OR DELETE ON orders_payment
    FOR EACH ROW EXECUTE FUNCTION orders_payment_append_only()
    """,
]
LEDGER_GUARD_BACKWARD = [
    "DROP TRIGGER IF EXISTS orders_payment_append_only ON orders_payment",
    "DROP FUNCTION IF EXISTS orders_payment_append_only()",
]
FAKE_PROVIDER = [
    """
    CREATE TABLE IF NOT EXISTS fake_gateway_operation (
        idempotency_key text PRIMARY KEY,
        params jsonb NOT NULL,
        kind text NOT NULL,
        status text NOT NULL,
        reference text UNIQUE,
        amount numeric(12, 2) NOT NULL,
        currency text NOT NULL,
        charge_reference text,
        message text NOT NULL DEFAULT '',
        created_at timestamptz NOT NULL DEFAULT now()
    )
    """,
    "CREATE INDEX IF NOT EXISTS fake_gateway_refund_idx ON fake_gateway_operation (charge_reference) "
    "WHERE kind = 'refund'",
    """
    INSERT INTO fake_gateway_operation (idempotency_key, params, kind, status, reference, amount,
        currency, charge_reference)
    SELECT p.idempotency_key,
        jsonb_strip_nulls(jsonb_build_object('kind', p.kind, 'amount', p.amount::text, 'currency',
            p.currency, 'charge', c.gateway_reference)),
        p.kind, 'succeeded', p.gateway_reference, p.amount, p.currency, c.gateway_reference
    FROM orders_payment AS p LEFT JOIN orders_payment AS c ON c.id = p.charge_id
    WHERE p.idempotency_key LIKE 'carried-over-%%'
    ON CONFLICT DO NOTHING
    """,
]
FAKE_PROVIDER_BACKWARD = ["DROP TABLE IF EXISTS fake_gateway_operation"]


class Migration(migrations.Migration):

    dependencies = [
        ('backoffice', '0002_default_tenant'),
        ('orders', '0002_postgres_search'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='OrderEdit',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('tenant', models.ForeignKey(default=core.tenancy.current_tenant_id, editable=False, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='backoffice.tenant')),
                ('status', models.CharField(choices=[('pending', 'Waiting for the payment provider'), ('done', 'Done'), ('failed', 'Failed (the payment was refused)')], max_length=10)),
                ('lines_before', models.JSONField(default=list)),
                ('lines_after', models.JSONField(default=list)),
                ('total_before', models.DecimalField(decimal_places=2, max_digits=12)),
                ('total_after', models.DecimalField(decimal_places=2, max_digits=12)),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now, editable=False)),
            ],
            options={
                'ordering': ['-created_at', '-id'],
                'abstract': False,
                'base_manager_name': 'unscoped',
                'default_manager_name': 'objects',
            },
            managers=[
                ('objects', django.db.models.manager.Manager()),
                ('unscoped', django.db.models.manager.Manager()),
            ],
        ),
        migrations.CreateModel(
            name='OrderNote',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('tenant', models.ForeignKey(default=core.tenancy.current_tenant_id, editable=False, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='backoffice.tenant')),
                ('text', models.TextField()),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now, editable=False)),
            ],
            options={
                'ordering': ['-created_at', '-id'],
                'abstract': False,
                'base_manager_name': 'unscoped',
                'default_manager_name': 'objects',
            },
            managers=[
                ('objects', django.db.models.manager.Manager()),
                ('unscoped', django.db.models.manager.Manager()),
            ],
        ),
        migrations.CreateModel(
            name='OrderReturn',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('tenant', models.ForeignKey(default=core.tenancy.current_tenant_id, editable=False, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='backoffice.tenant')),
                ('status', models.CharField(choices=[('pending', 'Waiting for the payment provider'), ('done', 'Done'), ('failed', 'Failed (the payment was refused)')], max_length=10)),
                ('reason', models.TextField()),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now, editable=False)),
            ],
            options={
                'ordering': ['-created_at', '-id'],
                'abstract': False,
                'base_manager_name': 'unscoped',
                'default_manager_name': 'objects',
            },
            managers=[
                ('objects', django.db.models.manager.Manager()),
                ('unscoped', django.db.models.manager.Manager()),
            ],
        ),
        migrations.CreateModel(
            name='OrderReturnLine',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('tenant', models.ForeignKey(default=core.tenancy.current_tenant_id, editable=False, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='backoffice.tenant')),
                ('quantity', models.PositiveIntegerField(validators=[django.core.validators.MinValueValidator(1)])),
                ('disposition', models.CharField(choices=[('restock', 'Back to stock'), ('write_off', 'Written off (damaged)')], max_length=10)),
            ],
            options={
                'ordering': ['order_return', 'id'],
                'abstract': False,
                'base_manager_name': 'unscoped',
                'default_manager_name': 'objects',
            },
            managers=[
                ('objects', django.db.models.manager.Manager()),
                ('unscoped', django.db.models.manager.Manager()),
            ],
        ),
        migrations.CreateModel(
            name='Payment',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('tenant', models.ForeignKey(default=core.tenancy.current_tenant_id, editable=False, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='backoffice.tenant')),
                ('kind', models.CharField(choices=[('charge', 'Charge'), ('refund', 'Refund')], max_length=10)),
                ('status', models.CharField(choices=[('pending', 'Pending'), ('succeeded', 'Succeeded'), ('failed', 'Failed')], default='pending', max_length=10)),
                ('purpose', models.CharField(choices=[('placement', 'Order placed'), ('payment', 'Payment taken'), ('edit', 'Order edited'), ('refund', 'Refund'), ('cancellation', 'Cancellation')], max_length=15)),
                ('amount', models.DecimalField(decimal_places=2, max_digits=12)),
                ('currency', models.CharField(max_length=3)),
                ('idempotency_key', models.CharField(max_length=64, unique=True)),
                ('gateway_reference', models.CharField(blank=True, max_length=100, verbose_name='reference')),
                ('batch', models.UUIDField(db_index=True)),
                ('reason', models.TextField(blank=True)),
                ('failure', models.TextField(blank=True)),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now, editable=False)),
                ('settled_at', models.DateTimeField(blank=True, null=True)),
            ],
            options={
                'ordering': ['-created_at', '-id'],
                'abstract': False,
                'base_manager_name': 'unscoped',
                'default_manager_name': 'objects',
            },
            managers=[
                ('objects', django.db.models.manager.Manager()),
                ('unscoped', django.db.models.manager.Manager()),
            ],
        ),
        migrations.AddField(
            model_name='historicalorder',
            name='credited',
            field=models.DecimalField(decimal_places=2, default=Decimal('0.00'), editable=False, max_digits=12),
        ),
        migrations.AddField(
            model_name='historicalorder',
            name='shipped_at',
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name='order',
            name='credited',
            field=models.DecimalField(decimal_places=2, default=Decimal('0.00'), editable=False, max_digits=12),
        ),
        migrations.AddField(
            model_name='order',
            name='shipped_at',
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.AlterField(
            model_name='historicalorder',
            name='status',
            field=models.CharField(choices=[('draft', 'Draft'), ('pending', 'Awaiting payment'), ('paid', 'Paid'), ('partially_refunded', 'Partially refunded'), ('shipped', 'Shipped'), ('completed', 'Completed'), ('cancelled', 'Cancelled'), ('refunded', 'Refunded')], default='draft', max_length=20),
        ),
        migrations.AlterField(
            model_name='order',
            name='status',
            field=models.CharField(choices=[('draft', 'Draft'), ('pending', 'Awaiting payment'), ('paid', 'Paid'), ('partially_refunded', 'Partially refunded'), ('shipped', 'Shipped'), ('completed', 'Completed'), ('cancelled', 'Cancelled'), ('refunded', 'Refunded')], default='draft', max_length=20),
        ),
        migrations.AddField(
            model_name='orderedit',
            name='order',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='edits', to='orders.order'),
        ),
        migrations.AddField(
            model_name='orderedit',
            name='user',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddField(
            model_name='ordernote',
            name='author',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddField(
            model_name='ordernote',
            name='order',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='notes', to='orders.order'),
        ),
        migrations.AddField(
            model_name='orderreturn',
            name='order',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='returns', to='orders.order'),
        ),
        migrations.AddField(
            model_name='orderreturn',
            name='user',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddField(
            model_name='orderreturnline',
            name='line',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='returned', to='orders.orderitem'),
        ),
        migrations.AddField(
            model_name='orderreturnline',
            name='order_return',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='lines', to='orders.orderreturn'),
        ),
        migrations.AddField(
            model_name='payment',
            name='charge',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='refunds', to='orders.payment'),
        ),
        migrations.AddField(
            model_name='payment',
            name='order',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='payments', to='orders.order'),
        ),
        migrations.AddField(
            model_name='payment',
            name='order_edit',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='payments', to='orders.orderedit'),
        ),
        migrations.AddField(
            model_name='payment',
            name='order_return',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='payments', to='orders.orderreturn'),
        ),
        migrations.AddField(
            model_name='payment',
            name='user',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddIndex(
            model_name='orderedit',
            index=models.Index(fields=['order', '-created_at'], name='order_edit_order_idx'),
        ),
        migrations.AddIndex(
            model_name='ordernote',
            index=models.Index(fields=['order', '-created_at'], name='order_note_order_idx'),
        ),
        migrations.AddIndex(
            model_name='orderreturn',
            index=models.Index(fields=['order', '-created_at'], name='order_return_order_idx'),
        ),
        migrations.AddConstraint(
            model_name='orderreturnline',
            constraint=models.CheckConstraint(condition=models.Q(('quantity__gte', 1)), name='return_line_quantity_positive'),
        ),
        migrations.AddIndex(
            model_name='payment',
            index=models.Index(fields=['order', 'kind', 'status'], name='payment_order_idx'),
        ),
        migrations.AddIndex(
            model_name='payment',
            index=models.Index(fields=['tenant', '-created_at', '-id'], name='payment_created_idx'),
        ),
        migrations.AddIndex(
            model_name='payment',
            index=models.Index(condition=models.Q(('status', 'pending')), fields=['created_at'], name='payment_pending_idx'),
        ),
        migrations.AddConstraint(
            model_name='payment',
            constraint=models.CheckConstraint(condition=models.Q(('amount__gt', 0)), name='payment_amount_positive'),
        ),
        migrations.AddConstraint(
            model_name='payment',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('charge__isnull', True), ('kind', 'charge')), models.Q(('charge__isnull', False), ('kind', 'refund')), _connector='OR'), name='payment_refund_has_its_charge'),
        ),
        migrations.AddConstraint(
            model_name='payment',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('settled_at__isnull', True), ('status', 'pending')), models.Q(('settled_at__isnull', False), ('status__in', ['succeeded', 'failed'])), _connector='OR'), name='payment_settled_when_not_pending'),
        ),
        migrations.AddConstraint(
            model_name='payment',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('status', 'succeeded'), _negated=True), models.Q(('gateway_reference', ''), _negated=True), _connector='OR'), name='payment_succeeded_has_reference'),
        ),
        migrations.RunPython(notes_and_payments_from_old_fields, migrations.RunPython.noop),
        migrations.RunSQL(LEDGER_GUARD + FAKE_PROVIDER, LEDGER_GUARD_BACKWARD + FAKE_PROVIDER_BACKWARD),
        migrations.AddConstraint(
            model_name='order',
            constraint=models.CheckConstraint(condition=models.Q(('total', django.db.models.expressions.CombinedExpression(django.db.models.expressions.CombinedExpression(models.F('subtotal'), '+', models.F('tax')), '-', models.F('credited')))), name='order_total_after_credits'),
        ),
        migrations.RemoveField(
            model_name='historicalorder',
            name='internal_note',
        ),
        migrations.RemoveField(
            model_name='historicalorder',
            name='payment_reference',
        ),
        migrations.RemoveField(
            model_name='order',
            name='internal_note',
        ),
        migrations.RemoveField(
            model_name='order',
            name='payment_reference',
        ),
    ]
