"""audit: signed checkpoints of each commune's chain head

Revision ID: 0006g
Revises: 0005
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0006g'
down_revision: str | None = "0006c"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'audit_checkpoint',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('commune_id', sa.Integer(), nullable=False),
        sa.Column('seq', sa.Integer(), nullable=False),
        sa.Column('hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('taken_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('key_id', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column('signature', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.ForeignKeyConstraint(['commune_id'], ['commune.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_audit_checkpoint_commune_seq', 'audit_checkpoint', ['commune_id', 'seq'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_audit_checkpoint_commune_seq', table_name='audit_checkpoint')
    op.drop_table('audit_checkpoint')
