"""decisions the law would recognise: the matter and scope of a discussion, its asks, and the rule applied

Revision ID: 0010d
Revises: 0010s

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
down_revision: str | None = "0010s"
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


    with op.batch_alter_table("decision") as batch:
        batch.add_column(sa.Column("written_form", sa.String(length=16), nullable=False, server_default=""))
    with op.batch_alter_table("meeting") as batch:
        batch.add_column(sa.Column("people_present", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("chair_designation_ref", sa.String(length=120), nullable=False,
                                   server_default=""))
        batch.add_column(sa.Column("secretary_votes", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("voting_mode", sa.String(length=16), nullable=False, server_default=""))
        batch.add_column(sa.Column("counting_committee", sa.Text(), nullable=False, server_default=""))
        for name in ("ballots_issued", "ballots_returned", "ballots_valid", "ballots_invalid"):
            batch.add_column(sa.Column(name, sa.Integer(), nullable=True))
        batch.add_column(sa.Column("moved_from", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("cancel_reason", sa.String(length=400), nullable=False, server_default=""))
        batch.add_column(sa.Column("revision", sa.Integer(), nullable=False, server_default="0"))
    with op.batch_alter_table("meeting_cluster") as batch:
        batch.add_column(sa.Column("chair_name", sa.String(length=120), nullable=False, server_default=""))
    op.create_table(
        "meeting_attendance",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("household_id", sa.Integer(), nullable=False),
        sa.Column("cluster_id", sa.Integer(), nullable=True),
        sa.Column("ticked_by_id", sa.Integer(), nullable=True),
        sa.Column("ticked_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["meeting_id"], ["meeting.id"],
                                name=op.f("fk_meeting_attendance_meeting_id_meeting")),
        sa.ForeignKeyConstraint(["household_id"], ["household.id"],
                                name=op.f("fk_meeting_attendance_household_id_household")),
        sa.ForeignKeyConstraint(["cluster_id"], ["meeting_cluster.id"],
                                name=op.f("fk_meeting_attendance_cluster_id_meeting_cluster")),
        sa.ForeignKeyConstraint(["ticked_by_id"], ["user.id"],
                                name=op.f("fk_meeting_attendance_ticked_by_id_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meeting_attendance")),
        sa.UniqueConstraint("meeting_id", "household_id",
                            name=op.f("uq_meeting_attendance_meeting_id_household_id")),
    )
    op.create_index(op.f("ix_meeting_attendance_meeting_id"), "meeting_attendance", ["meeting_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_meeting_attendance_meeting_id"), table_name="meeting_attendance")
    op.drop_table("meeting_attendance")
    with op.batch_alter_table("meeting_cluster") as batch:
        batch.drop_column("chair_name")
    with op.batch_alter_table("meeting") as batch:
        for name in ("revision", "cancel_reason", "cancelled_at", "moved_from", "ballots_invalid", "ballots_valid",
                     "ballots_returned", "ballots_issued", "counting_committee", "voting_mode",
                     "secretary_votes", "chair_designation_ref", "people_present"):
            batch.drop_column(name)
    with op.batch_alter_table("decision") as batch:
        batch.drop_column("written_form")
    with op.batch_alter_table("decision") as batch:
        for name in ("rule_secondary", "rule_article", "threshold", "scope", "matter", "informed_ref",
                     "informed_on", "online_agreement_ref", "online_agreed_on"):
            batch.drop_column(name)
    with op.batch_alter_table("discussion") as batch:
        for name in ("ask_materials", "ask_labour_days", "ask_money", "ask_land_m2", "matter_reason", "scope",
                     "matter"):
            batch.drop_column(name)
