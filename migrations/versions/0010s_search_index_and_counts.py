"""a text index for search, and item counts per commune, village and stage

Revision ID: 0010s
Revises: 0010n

Search matches every folded word anywhere in an item's text (`search_text LIKE '%word%'`), which no
B-tree index can serve. SQLite gets an FTS5 table with the trigram tokenizer over `item.search_text`
(kept by triggers, so every writer keeps it, whatever its code path); its MATCH finds the items holding
each word of three letters or more. PostgreSQL gets a trigram GIN index (`pg_trgm`), which the same LIKE
uses as it is; where the extension cannot be created (it needs a superuser or a trusted extension), the
search keeps its sequential scan and the migration says so.

`item_count` holds how many items each village has in each stage, kept by triggers on `item` in the
same transaction as the insert, the stage change or the delete, so the home page and the unfiltered list
never count the commune's items. `civic recount` checks it against the items and repairs it.

`ix_item_submitted_created` (new items only, oldest first) serves the triage queue of a village head
of many villages. `ix_audit_event_commune_level` (the commune's events that name no item) gives the page cache the version
of what an item's page shows of the commune, without reading the item events.
"""
import logging
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010s"
down_revision: str | None = "0010n"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = logging.getLogger("alembic.runtime.migration")

SQLITE_FTS = [
    "CREATE VIRTUAL TABLE item_fts USING fts5(search_text, content='item', content_rowid='id', "
    "tokenize='trigram')",
    "CREATE TRIGGER item_fts_ai AFTER INSERT ON item BEGIN "
    "INSERT INTO item_fts(rowid, search_text) VALUES (new.id, new.search_text); END",
    "CREATE TRIGGER item_fts_ad AFTER DELETE ON item BEGIN "
    "INSERT INTO item_fts(item_fts, rowid, search_text) VALUES ('delete', old.id, old.search_text); END",
    "CREATE TRIGGER item_fts_au AFTER UPDATE OF search_text ON item BEGIN "
    "INSERT INTO item_fts(item_fts, rowid, search_text) VALUES ('delete', old.id, old.search_text); "
    "INSERT INTO item_fts(rowid, search_text) VALUES (new.id, new.search_text); END",
    "INSERT INTO item_fts(item_fts) VALUES ('rebuild')",
]

_UP = ("INSERT INTO item_count (commune_id, village_id, stage, n) VALUES ({r}.commune_id, {r}.village_id, "
       "{r}.stage, 1) ON CONFLICT (commune_id, village_id, stage) DO UPDATE SET n = item_count.n + 1")
_DOWN = ("UPDATE item_count SET n = n - 1 WHERE commune_id = {r}.commune_id AND village_id = {r}.village_id "
         "AND stage = {r}.stage")

SQLITE_COUNTS = [
    f"CREATE TRIGGER item_count_ai AFTER INSERT ON item BEGIN {_UP.format(r='new')}; END",
    f"CREATE TRIGGER item_count_ad AFTER DELETE ON item BEGIN {_DOWN.format(r='old')}; END",
    "CREATE TRIGGER item_count_au AFTER UPDATE OF stage, village_id, commune_id ON item "
    "WHEN old.stage IS NOT new.stage OR old.village_id IS NOT new.village_id "
    f"OR old.commune_id IS NOT new.commune_id BEGIN {_DOWN.format(r='old')}; {_UP.format(r='new')}; END",
]

POSTGRES_COUNTS = [
    f"""CREATE FUNCTION item_count_keep() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP IN ('UPDATE', 'DELETE') THEN
    {_DOWN.format(r='OLD')};
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    {_UP.format(r='NEW')};
  END IF;
  RETURN NULL;
END $$""",
    "CREATE TRIGGER item_count_aid AFTER INSERT OR DELETE ON item FOR EACH ROW EXECUTE FUNCTION item_count_keep()",
    "CREATE TRIGGER item_count_au AFTER UPDATE OF stage, village_id, commune_id ON item FOR EACH ROW "
    "WHEN (OLD.stage IS DISTINCT FROM NEW.stage OR OLD.village_id IS DISTINCT FROM NEW.village_id "
    "OR OLD.commune_id IS DISTINCT FROM NEW.commune_id) EXECUTE FUNCTION item_count_keep()",
]

FILL_COUNTS = ("INSERT INTO item_count (commune_id, village_id, stage, n) "
               "SELECT commune_id, village_id, stage, count(*) FROM item GROUP BY commune_id, village_id, stage")


def upgrade() -> None:
    op.create_table(
        "item_count",
        sa.Column("commune_id", sa.Integer(), nullable=False),
        sa.Column("village_id", sa.Integer(), nullable=False),
        sa.Column("stage", sa.String(length=16), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("commune_id", "village_id", "stage"),
    )
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for statement in SQLITE_FTS + SQLITE_COUNTS:
            op.execute(statement)
    else:
        for statement in POSTGRES_COUNTS:
            op.execute(statement)
        try:
            with bind.begin_nested():
                bind.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
        except sa.exc.DBAPIError as exc:
            log.warning("pg_trgm could not be created (%s): search keeps scanning the items' text",
                        str(exc.orig).strip().splitlines()[0] if exc.orig else exc)
        else:
            op.execute("CREATE INDEX ix_item_search_trgm ON item USING gin (search_text gin_trgm_ops)")
    op.execute(FILL_COUNTS)
    # The triage queue reads the oldest new items of many villages: one ordered scan of the new ones.
    op.execute("CREATE INDEX ix_item_submitted_created ON item (created_at, id) WHERE stage = 'submitted'")
    # The page cache's version of an item page reads the commune's last event that names no item.
    op.execute("CREATE INDEX ix_audit_event_commune_level ON audit_event (commune_id, seq) WHERE item_id IS NULL")


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ix_audit_event_commune_level")
    op.execute("DROP INDEX IF EXISTS ix_item_submitted_created")
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for name in ("item_count_ai", "item_count_ad", "item_count_au", "item_fts_ai", "item_fts_ad",
                     "item_fts_au"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS item_fts")
    else:
        op.execute("DROP INDEX IF EXISTS ix_item_search_trgm")
        op.execute("DROP TRIGGER IF EXISTS item_count_aid ON item")
        op.execute("DROP TRIGGER IF EXISTS item_count_au ON item")
        op.execute("DROP FUNCTION IF EXISTS item_count_keep()")
    op.drop_table("item_count")
