"""catalogue per organisation type, cases, obligations, two phases, withdraw, correct, attachments, allowed numbers, archive

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 06:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('allowed_numbers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('area_id', sa.Integer(), nullable=False),
    sa.Column('digits', sa.String(length=32), nullable=False),
    sa.Column('label', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['area_id'], ['areas.id'], name=op.f('fk_allowed_numbers_area_id_areas')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_allowed_numbers_created_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_allowed_numbers')),
    sa.UniqueConstraint('area_id', 'digits', name=op.f('uq_allowed_numbers_area_id'))
    )
    with op.batch_alter_table('allowed_numbers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_allowed_numbers_area_id'), ['area_id'], unique=False)

    op.create_table('attachments',
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('mime', sa.String(length=64), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('filename', sa.String(length=200), nullable=False),
    sa.Column('width', sa.Integer(), nullable=True),
    sa.Column('height', sa.Integer(), nullable=True),
    sa.Column('pages', sa.Integer(), nullable=True),
    sa.Column('seconds', sa.Double(), nullable=True),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('derived', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_attachments_created_by_id_users')),
    sa.PrimaryKeyConstraint('sha256', name=op.f('pk_attachments'))
    )
    op.create_table('disclosure_cases',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('area_id', sa.Integer(), nullable=False),
    sa.Column('catalogue_item_id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=120), nullable=False),
    sa.Column('opened_on', sa.Date(), nullable=False),
    sa.Column('stage_dates', sa.JSON(), nullable=False, server_default='{}'),
    sa.Column('opened_by_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['area_id'], ['areas.id'], name=op.f('fk_disclosure_cases_area_id_areas')),
    sa.ForeignKeyConstraint(['catalogue_item_id'], ['catalogue_items.id'], name=op.f('fk_disclosure_cases_catalogue_item_id_catalogue_items')),
    sa.ForeignKeyConstraint(['opened_by_id'], ['users.id'], name=op.f('fk_disclosure_cases_opened_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_disclosure_cases'))
    )
    with op.batch_alter_table('disclosure_cases', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_disclosure_cases_area_id'), ['area_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_disclosure_cases_catalogue_item_id'), ['catalogue_item_id'], unique=False)

    op.create_table('archive_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('area_id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('disclosure_id', sa.Integer(), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=True),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('payload', sa.Text(), nullable=False),
    sa.Column('payload_hash', sa.String(length=64), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('entry_hash', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['area_id'], ['areas.id'], name=op.f('fk_archive_entries_area_id_areas')),
    sa.ForeignKeyConstraint(['disclosure_id'], ['disclosures.id'], name=op.f('fk_archive_entries_disclosure_id_disclosures')),
    sa.ForeignKeyConstraint(['version_id'], ['disclosure_versions.id'], name=op.f('fk_archive_entries_version_id_disclosure_versions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_archive_entries')),
    sa.UniqueConstraint('area_id', 'prev_hash', name='uq_archive_entries_area_prev'),
    sa.UniqueConstraint('area_id', 'seq', name='uq_archive_entries_area_seq')
    )
    with op.batch_alter_table('archive_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_archive_entries_area_id'), ['area_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_archive_entries_disclosure_id'), ['disclosure_id'], unique=False)
    _append_only('archive_entries')

    with op.batch_alter_table('catalogue_categories', schema=None) as batch_op:
        batch_op.add_column(sa.Column('org_kind', sa.String(length=32), nullable=False, server_default='village'))
        batch_op.create_index(batch_op.f('ix_catalogue_categories_org_kind'), ['org_kind'], unique=False)

    with op.batch_alter_table('catalogue_items', schema=None) as batch_op:
        batch_op.add_column(sa.Column('internal_days', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('stages', sa.JSON(), nullable=False, server_default='[]'))
        batch_op.add_column(sa.Column('responsible_person', sa.String(length=64), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('retired_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('created_at', sa.DateTime(timezone=True), nullable=True))

    with op.batch_alter_table('disclosure_versions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('attachments', sa.JSON(), nullable=False, server_default='[]'))

    with op.batch_alter_table('disclosures', schema=None) as batch_op:
        batch_op.add_column(sa.Column('period', sa.String(length=16), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('case_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('stage', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('slot', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('public_from', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('corrects_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('correction_reason', sa.String(length=500), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('withdrawn_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('withdrawn_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('withdraw_reason', sa.String(length=500), nullable=False, server_default=''))
        batch_op.create_index(batch_op.f('ix_disclosures_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_disclosures_corrects_id'), ['corrects_id'], unique=False)
        batch_op.create_unique_constraint(batch_op.f('uq_disclosures_slot'), ['slot'])
        batch_op.create_foreign_key(batch_op.f('fk_disclosures_withdrawn_by_id_users'), 'users', ['withdrawn_by_id'], ['id'])
        batch_op.create_foreign_key(batch_op.f('fk_disclosures_corrects_id_disclosures'), 'disclosures', ['corrects_id'], ['id'])
        batch_op.create_foreign_key(batch_op.f('fk_disclosures_case_id_disclosure_cases'), 'disclosure_cases', ['case_id'], ['id'])




def _append_only(table: str) -> None:
    """Refuse UPDATE and DELETE on `table` in the database itself (as 0003 does for the
    audit log; the PostgreSQL function sunwall_append_only() comes from 0003)."""
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION sunwall_append_only()"
        )
    else:
        for verb in ('UPDATE', 'DELETE'):
            op.execute(
                f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
            )


def downgrade() -> None:

    with op.batch_alter_table('disclosures', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_disclosures_case_id_disclosure_cases'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_disclosures_corrects_id_disclosures'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_disclosures_withdrawn_by_id_users'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('uq_disclosures_slot'), type_='unique')
        batch_op.drop_index(batch_op.f('ix_disclosures_corrects_id'))
        batch_op.drop_index(batch_op.f('ix_disclosures_case_id'))
        batch_op.drop_column('withdraw_reason')
        batch_op.drop_column('withdrawn_by_id')
        batch_op.drop_column('withdrawn_at')
        batch_op.drop_column('correction_reason')
        batch_op.drop_column('corrects_id')
        batch_op.drop_column('public_from')
        batch_op.drop_column('slot')
        batch_op.drop_column('stage')
        batch_op.drop_column('case_id')
        batch_op.drop_column('period')

    with op.batch_alter_table('disclosure_versions', schema=None) as batch_op:
        batch_op.drop_column('attachments')

    with op.batch_alter_table('catalogue_items', schema=None) as batch_op:
        batch_op.drop_column('created_at')
        batch_op.drop_column('retired_at')
        batch_op.drop_column('responsible_person')
        batch_op.drop_column('stages')
        batch_op.drop_column('internal_days')

    with op.batch_alter_table('catalogue_categories', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_catalogue_categories_org_kind'))
        batch_op.drop_column('org_kind')

    with op.batch_alter_table('archive_entries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_archive_entries_disclosure_id'))
        batch_op.drop_index(batch_op.f('ix_archive_entries_area_id'))

    op.drop_table('archive_entries')
    with op.batch_alter_table('disclosure_cases', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_disclosure_cases_catalogue_item_id'))
        batch_op.drop_index(batch_op.f('ix_disclosure_cases_area_id'))

    op.drop_table('disclosure_cases')
    op.drop_table('attachments')
    with op.batch_alter_table('allowed_numbers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_allowed_numbers_area_id'))

    op.drop_table('allowed_numbers')
