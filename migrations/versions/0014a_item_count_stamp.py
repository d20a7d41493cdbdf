"""a stamp on each item counter, new whenever an item of its village and stage changes

Revision ID: 0014a
Revises: 0013d

A cached list page was served only while the commune's chain head stayed the same, so one submission
anywhere in the commune emptied every list. `item_count` rows already name (commune, village, stage) and
are kept by triggers on `item`; each now also holds a random `stamp`, drawn again by the same triggers
whenever an item of that cell is inserted, deleted, moved or changed in any column. The counters and
stamps of the cells a list reads are its version: a new item in one village leaves the other villages'
lists, and the lists of other stages, in the cache. Random, not a counter: a database restored from an
older backup never shows a stamp that a page cached since was rendered at.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014a"
down_revision: str | None = "0013d"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# A new stamp: a random non-negative 31-bit number (a list's version sums up to 1,200 of them).
_SQLITE_DRAW = "(random() & 2147483647)"
_POSTGRES_DRAW = "floor(random() * 2147483647)::integer"

_UP = ("INSERT INTO item_count (commune_id, village_id, stage, n, stamp) VALUES ({r}.commune_id, {r}.village_id, "
       "{r}.stage, 1, {draw}) ON CONFLICT (commune_id, village_id, stage) DO UPDATE SET n = item_count.n + 1, "
       "stamp = excluded.stamp")
_DOWN = ("UPDATE item_count SET n = n - 1, stamp = {draw} WHERE commune_id = {r}.commune_id "
         "AND village_id = {r}.village_id AND stage = {r}.stage")
_TOUCH = ("UPDATE item_count SET stamp = {draw} WHERE commune_id = {r}.commune_id "
          "AND village_id = {r}.village_id AND stage = {r}.stage")


def _sqlite(up: str, down: str, touch: str) -> list[str]:
    d = _SQLITE_DRAW
    return [
        "DROP TRIGGER IF EXISTS item_count_ai",
        "DROP TRIGGER IF EXISTS item_count_ad",
        "DROP TRIGGER IF EXISTS item_count_au",
        "DROP TRIGGER IF EXISTS item_count_at",
        f"CREATE TRIGGER item_count_ai AFTER INSERT ON item BEGIN {up.format(r='new', draw=d)}; END",
        f"CREATE TRIGGER item_count_ad AFTER DELETE ON item BEGIN {down.format(r='old', draw=d)}; END",
        "CREATE TRIGGER item_count_au AFTER UPDATE OF stage, village_id, commune_id ON item "
        "WHEN old.stage IS NOT new.stage OR old.village_id IS NOT new.village_id "
        f"OR old.commune_id IS NOT new.commune_id BEGIN {down.format(r='old', draw=d)}; "
        f"{up.format(r='new', draw=d)}; END",
        *([] if not touch else [
            "CREATE TRIGGER item_count_at AFTER UPDATE ON item "
            "WHEN old.stage IS new.stage AND old.village_id IS new.village_id "
            f"AND old.commune_id IS new.commune_id BEGIN {touch.format(r='new', draw=d)}; END"]),
    ]


def _postgres(up: str, down: str, touch: str) -> list[str]:
    d = _POSTGRES_DRAW
    same = ("OLD.stage IS NOT DISTINCT FROM NEW.stage AND OLD.village_id IS NOT DISTINCT FROM NEW.village_id "
            "AND OLD.commune_id IS NOT DISTINCT FROM NEW.commune_id")
    touched = f"""  IF TG_OP = 'UPDATE' AND {same} THEN
    {touch.format(r='NEW', draw=d)};
    RETURN NULL;
  END IF;
""" if touch else ""
    return [
        f"""CREATE OR REPLACE FUNCTION item_count_keep() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
{touched}  IF TG_OP IN ('UPDATE', 'DELETE') THEN
    {down.format(r='OLD', draw=d)};
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    {up.format(r='NEW', draw=d)};
  END IF;
  RETURN NULL;
END $$""",
        "DROP TRIGGER IF EXISTS item_count_au ON item",
        "CREATE TRIGGER item_count_au AFTER UPDATE ON item FOR EACH ROW EXECUTE FUNCTION item_count_keep()"
        if touch else
        "CREATE TRIGGER item_count_au AFTER UPDATE OF stage, village_id, commune_id ON item FOR EACH ROW "
        "WHEN (OLD.stage IS DISTINCT FROM NEW.stage OR OLD.village_id IS DISTINCT FROM NEW.village_id "
        "OR OLD.commune_id IS DISTINCT FROM NEW.commune_id) EXECUTE FUNCTION item_count_keep()",
    ]


def upgrade() -> None:
    op.add_column("item_count", sa.Column("stamp", sa.Integer(), nullable=False, server_default="0"))
    sqlite = op.get_bind().dialect.name == "sqlite"
    statements = _sqlite(_UP, _DOWN, _TOUCH) if sqlite else _postgres(_UP, _DOWN, _TOUCH)
    for statement in statements:
        op.execute(statement)
    op.execute(f"UPDATE item_count SET stamp = {_SQLITE_DRAW if sqlite else _POSTGRES_DRAW}")


# The counters' triggers as migration 0010s made them: no stamp, and nothing on other changes.
_OLD_UP = ("INSERT INTO item_count (commune_id, village_id, stage, n) VALUES ({r}.commune_id, {r}.village_id, "
           "{r}.stage, 1) ON CONFLICT (commune_id, village_id, stage) DO UPDATE SET n = item_count.n + 1")
_OLD_DOWN = ("UPDATE item_count SET n = n - 1 WHERE commune_id = {r}.commune_id AND village_id = {r}.village_id "
             "AND stage = {r}.stage")


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    statements = _sqlite(_OLD_UP, _OLD_DOWN, "") if sqlite else _postgres(_OLD_UP, _OLD_DOWN, "")
    for statement in statements:
        op.execute(statement)
    # In place (SQLite 3.35+): a batch copy could not rename its table while the item triggers name it.
    op.execute("ALTER TABLE item_count DROP COLUMN stamp")
