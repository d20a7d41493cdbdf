"""accounts: role terms (starts_on, ends_on, granted_by_id), longer role codes, invitations and
password reset codes

Revision ID: 0009p
Revises: 0009k

Role grants get a term: a grant gives its powers only from starts_on until the day before ends_on.
Grants made before this revision start on 1 January 2000, so they stay in force. Role codes grow to 32
characters for the roles of the grassroots democracy law (inspection_member, investment_monitor…).
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0009p'
down_revision: str | None = "0009k"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('role_grant', schema=None) as batch_op:
        batch_op.alter_column('role', existing_type=sa.String(length=16), type_=sa.String(length=32),
                              existing_nullable=False)
        batch_op.add_column(sa.Column('starts_on', sa.Date(), nullable=False,
                                      server_default=sa.text("'2000-01-01'")))
        batch_op.add_column(sa.Column('ends_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('granted_by_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_role_grant_granted_by_id_user'), 'user',
                                    ['granted_by_id'], ['id'])
    with op.batch_alter_table('role_grant', schema=None) as batch_op:
        batch_op.alter_column('starts_on', existing_type=sa.Date(), existing_nullable=False,
                              server_default=None)
    op.create_table(
        'invitation',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('commune_id', sa.Integer(), nullable=False),
        sa.Column('code_hash', sa.String(length=64), nullable=False),
        sa.Column('phone', sa.String(length=16), nullable=False),
        sa.Column('display_name', sa.String(length=80), nullable=False),
        sa.Column('role', sa.String(length=32), nullable=False),
        sa.Column('village_id', sa.Integer(), nullable=True),
        sa.Column('starts_on', sa.Date(), nullable=False),
        sa.Column('ends_on', sa.Date(), nullable=True),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('user_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['commune_id'], ['commune.id'], name=op.f('fk_invitation_commune_id_commune')),
        sa.ForeignKeyConstraint(['village_id'], ['village.id'], name=op.f('fk_invitation_village_id_village')),
        sa.ForeignKeyConstraint(['created_by_id'], ['user.id'], name=op.f('fk_invitation_created_by_id_user')),
        sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_invitation_user_id_user')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_invitation')),
        sa.UniqueConstraint('code_hash', name=op.f('uq_invitation_code_hash')),
    )
    with op.batch_alter_table('invitation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_invitation_commune_id'), ['commune_id'], unique=False)
    op.create_table(
        'password_reset',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('commune_id', sa.Integer(), nullable=False),
        sa.Column('code_hash', sa.String(length=64), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_password_reset_user_id_user'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['commune_id'], ['commune.id'],
                                name=op.f('fk_password_reset_commune_id_commune')),
        sa.ForeignKeyConstraint(['created_by_id'], ['user.id'],
                                name=op.f('fk_password_reset_created_by_id_user')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_password_reset')),
        sa.UniqueConstraint('code_hash', name=op.f('uq_password_reset_code_hash')),
    )
    with op.batch_alter_table('password_reset', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_password_reset_user_id'), ['user_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('password_reset', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_password_reset_user_id'))
    op.drop_table('password_reset')
    with op.batch_alter_table('invitation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_invitation_commune_id'))
    op.drop_table('invitation')
    op.execute("DELETE FROM role_grant WHERE length(role) > 16")
    with op.batch_alter_table('role_grant', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_role_grant_granted_by_id_user'), type_='foreignkey')
        batch_op.drop_column('granted_by_id')
        batch_op.drop_column('ends_on')
        batch_op.drop_column('starts_on')
        batch_op.alter_column('role', existing_type=sa.String(length=32), type_=sa.String(length=16),
                              existing_nullable=False)
