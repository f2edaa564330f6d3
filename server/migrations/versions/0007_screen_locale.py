"""a screen's chrome language (zh_Hans, zh_Hant or en)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05 02:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('devices') as batch_op:
        batch_op.add_column(sa.Column('locale', sa.String(length=16), nullable=False, server_default='zh_Hans'))


def downgrade() -> None:
    with op.batch_alter_table('devices') as batch_op:
        batch_op.drop_column('locale')
