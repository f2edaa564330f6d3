"""area themes; read-aloud on signage for schedule entries and urgent notices

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04 03:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('area_themes',
    sa.Column('area_id', sa.Integer(), nullable=False),
    sa.Column('palette', sa.String(length=32), nullable=False),
    sa.Column('colours', sa.Text(), nullable=False),
    sa.Column('header', sa.String(length=64), nullable=False),
    sa.Column('scale', sa.String(length=16), nullable=False),
    sa.Column('emblem', sa.LargeBinary(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['area_id'], ['areas.id'], name=op.f('fk_area_themes_area_id_areas')),
    sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_area_themes_updated_by_id_users')),
    sa.PrimaryKeyConstraint('area_id', name=op.f('pk_area_themes'))
    )
    with op.batch_alter_table('schedule_entries') as batch_op:
        batch_op.add_column(sa.Column('read_aloud', sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table('urgent_notices') as batch_op:
        batch_op.add_column(sa.Column('read_aloud', sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table('urgent_notices') as batch_op:
        batch_op.drop_column('read_aloud')
    with op.batch_alter_table('schedule_entries') as batch_op:
        batch_op.drop_column('read_aloud')
    op.drop_table('area_themes')
