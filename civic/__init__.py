"""civic: grassroots-democracy feedback for Vietnamese communes and villages."""

from sqlmodel import SQLModel

# Every table model shares this naming convention; it must be set before any model is defined,
# and every `civic.*` import runs this file first.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
