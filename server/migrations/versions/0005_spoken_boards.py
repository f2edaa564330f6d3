"""read-aloud audio of boards

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 17:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('spoken_boards',
    sa.Column('script_sha', sa.String(length=64), nullable=False),
    sa.Column('audio_sha', sa.String(length=64), nullable=False),
    sa.Column('seconds', sa.Float(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('script_sha', name=op.f('pk_spoken_boards'))
    )


def downgrade() -> None:
    op.drop_table('spoken_boards')
