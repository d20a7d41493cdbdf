"""role names follow the law: the village role is the village head (trưởng thôn / tổ trưởng tổ dân phố)

Revision ID: 0008a
Revises: 0007h

The role that runs a village's items was called "secretary", a Party post (bí thư chi bộ) that the law
does not give the village meeting to: under Law 10/2022/QH15 the village head convenes it.
Role grants and official comments now say "village_head". Audit events keep the words they were written
with (the chain is never rewritten); pages read both.
"""
from collections.abc import Sequence

from alembic import op

revision: str = "0008a"
down_revision: str | None = "0007h"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("UPDATE role_grant SET role = 'village_head' WHERE role = 'secretary'")
    op.execute("UPDATE comment SET author_role = 'village_head' WHERE author_role = 'secretary'")


def downgrade() -> None:
    op.execute("UPDATE role_grant SET role = 'secretary' WHERE role = 'village_head'")
    op.execute("UPDATE comment SET author_role = 'secretary' WHERE author_role = 'village_head'")
