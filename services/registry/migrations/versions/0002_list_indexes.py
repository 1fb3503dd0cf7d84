"""registry: indexes for the project list's filters in its order (created_at, id)

The list is ordered by (created_at, id); an index per filter in that order lets a first page and
a keyset page read only the rows they return. The single-column county, level and stage indexes
are leading prefixes of the new ones, so they go. The county's index carries level, stage and
track (INCLUDE, PostgreSQL), so a county's filtered list is counted from the index alone. On PostgreSQL `q` gets a trigram GIN index
(pg_trgm is a trusted extension: the database's owner, each service's role, may create it) and
`tag` a GIN index on the tags as JSONB; on SQLite the search index is a plain one of the same
name, so one model describes both, and tags have none.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-04 05:00:00
"""

from alembic import op
import sqlalchemy as sa


revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

ORDER = ["created_at", "id"]
BY_FILTER = {
    "ix_projects_created": [],
    "ix_projects_county_created": ["county"],
    "ix_projects_level_created": ["level"],
    "ix_projects_stage_created": ["stage"],
    "ix_projects_track_created": ["track"],
}
# A county's list (every county user's) filtered further counts its matches from the index alone.
COUNTY_INCLUDES = ["level", "stage", "track"]
SUPERSEDED = {
    "ix_projects_county": ["county"],
    "ix_projects_level": ["level"],
    "ix_projects_stage": ["stage"],
}


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for name, columns in BY_FILTER.items():
        op.create_index(
            name,
            "projects",
            [*columns, *ORDER],
            postgresql_include=COUNTY_INCLUDES if name == "ix_projects_county_created" else [],
        )
    op.create_index(
        "ix_projects_key_created",
        "projects",
        ORDER,
        postgresql_where=sa.text("level IS NOT NULL"),
        sqlite_where=sa.text("level IS NOT NULL"),
    )
    if postgres:
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.create_index(
            "ix_projects_search",
            "projects",
            ["name", "code"],
            postgresql_using="gin",
            postgresql_ops={"name": "gin_trgm_ops", "code": "gin_trgm_ops"},
        )
        op.create_index(
            "ix_projects_tags",
            "projects",
            [sa.text("CAST(tags AS JSONB) jsonb_path_ops")],
            postgresql_using="gin",
        )
    else:
        op.create_index("ix_projects_search", "projects", ["name", "code"])
    for name in SUPERSEDED:
        op.drop_index(name, table_name="projects")


def downgrade() -> None:
    for name, columns in SUPERSEDED.items():
        op.create_index(name, "projects", columns)
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_projects_tags", table_name="projects")
    for name in ["ix_projects_search", "ix_projects_key_created", *BY_FILTER]:
        op.drop_index(name, table_name="projects")
