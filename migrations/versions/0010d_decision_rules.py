"""decisions the law would recognise: the matter and scope of a discussion, its asks, and the rule applied

Revision ID: 0010d
Revises: 0009v

A discussion holds its matter (Law 10/2022/QH15 Art. 15, 1 to 6), its scope (village or commune), the public
reason when the matter is below what its asks imply, and what it asks of each household. An existing
discussion that asked for contributions becomes matter 1, any other matter 6. A decision stores the rule of
the table that applied and, for an online ballot, the dates and references of the community's agreement and
of informing the commune People's Committee and the Front.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010d"
down_revision: str | None = "0009v"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("discussion") as batch:
        batch.add_column(sa.Column("matter", sa.Integer(), nullable=False, server_default="1"))
        batch.add_column(sa.Column("scope", sa.String(length=8), nullable=False, server_default="village"))
        batch.add_column(sa.Column("matter_reason", sa.String(length=400), nullable=False, server_default=""))
        batch.add_column(sa.Column("ask_land_m2", sa.Numeric(precision=14, scale=2), nullable=True))
        batch.add_column(sa.Column("ask_money", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("ask_labour_days", sa.Numeric(precision=14, scale=2), nullable=True))
        batch.add_column(sa.Column("ask_materials", sa.String(length=200), nullable=False, server_default=""))
    op.execute("UPDATE discussion SET matter = 6 WHERE NOT asks_contribution")
    with op.batch_alter_table("decision") as batch:
        batch.add_column(sa.Column("online_agreed_on", sa.Date(), nullable=True))
        batch.add_column(sa.Column("online_agreement_ref", sa.String(length=120), nullable=False,
                                   server_default=""))
        batch.add_column(sa.Column("informed_on", sa.Date(), nullable=True))
        batch.add_column(sa.Column("informed_ref", sa.String(length=120), nullable=False, server_default=""))
        batch.add_column(sa.Column("matter", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("scope", sa.String(length=8), nullable=False, server_default="village"))
        batch.add_column(sa.Column("threshold", sa.String(length=16), nullable=False,
                                   server_default="more_than_half"))
        batch.add_column(sa.Column("rule_article", sa.String(length=160), nullable=False, server_default=""))
        batch.add_column(sa.Column("rule_secondary", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("decision") as batch:
        for name in ("rule_secondary", "rule_article", "threshold", "scope", "matter", "informed_ref",
                     "informed_on", "online_agreement_ref", "online_agreed_on"):
            batch.drop_column(name)
    with op.batch_alter_table("discussion") as batch:
        for name in ("ask_materials", "ask_labour_days", "ask_money", "ask_land_m2", "matter_reason", "scope",
                     "matter"):
            batch.drop_column(name)
