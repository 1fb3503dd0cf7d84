"""scoring: read model by epoch, schemes, publications, outbox, inbox

Revision ID: 0001
Revises:
Create Date: 2026-11-28 03:14:21.241606
"""

import datetime as dt

from alembic import op
import sqlalchemy as sa

import shared.db

from shared.migrations import create_backbone_tables, drop_backbone_tables


revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_backbone_tables()
    op.create_table(
        "allocations",
        sa.Column("allocation_id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=36), nullable=False),
        sa.Column("county", sa.String(length=6), nullable=False),
        sa.Column("factor", sa.String(length=40), nullable=False),
        sa.Column("pollutant", sa.String(length=40), nullable=True),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("amount", sa.Numeric(precision=18, scale=4), nullable=False),
        sa.Column("unit", sa.String(length=20), nullable=False),
        sa.Column("advance", sa.Boolean(), nullable=False),
        sa.Column("allocated_on", sa.Date(), nullable=False),
        sa.Column("used_on", sa.Date(), nullable=True),
        sa.Column("released_on", sa.Date(), nullable=True),
        sa.Column("epoch", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("allocation_id", "epoch", name=op.f("pk_allocations")),
    )
    op.create_table(
        "credit_grants",
        sa.Column("grant_id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=36), nullable=False),
        sa.Column("county", sa.String(length=6), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("amount", sa.Numeric(precision=18, scale=4), nullable=False),
        sa.Column("granted_on", sa.Date(), nullable=False),
        sa.Column("epoch", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("grant_id", "epoch", name=op.f("pk_credit_grants")),
    )
    op.create_table(
        "epochs",
        sa.Column("number", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("started_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", shared.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("started_by", sa.String(length=200), nullable=False),
        sa.Column("events", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("number", name=op.f("pk_epochs")),
    )
    op.create_table(
        "plans",
        sa.Column("project_id", sa.String(length=36), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("annual_investment", sa.Numeric(precision=18, scale=4), nullable=False),
        sa.Column("epoch", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("project_id", "year", "epoch", name=op.f("pk_plans")),
    )
    op.create_table(
        "problems",
        sa.Column("issue_id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=36), nullable=False),
        sa.Column("county", sa.String(length=6), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("category", sa.String(length=40), nullable=False),
        sa.Column("unit", sa.String(length=200), nullable=True),
        sa.Column("deadline", sa.Date(), nullable=True),
        sa.Column("reported_on", sa.Date(), nullable=False),
        sa.Column("resolved_on", sa.Date(), nullable=True),
        sa.Column("on_time", sa.Boolean(), nullable=True),
        sa.Column("overdue_on", sa.Date(), nullable=True),
        sa.Column("closed_on", sa.Date(), nullable=True),
        sa.Column("epoch", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("issue_id", "epoch", name=op.f("pk_problems")),
    )
    op.create_table(
        "projects",
        sa.Column("project_id", sa.String(length=36), nullable=False),
        sa.Column("county", sa.String(length=6), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("level", sa.String(length=40), nullable=True),
        sa.Column("track", sa.String(length=20), nullable=False),
        sa.Column("stage", sa.String(length=20), nullable=False),
        sa.Column("planned_start", sa.Date(), nullable=True),
        sa.Column("actual_start", sa.Date(), nullable=True),
        sa.Column("actual_completion", sa.Date(), nullable=True),
        sa.Column("withdrawn_on", sa.Date(), nullable=True),
        sa.Column("epoch", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("project_id", "epoch", name=op.f("pk_projects")),
    )
    op.create_table(
        "publications",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("month", sa.Integer(), nullable=False),
        sa.Column("scheme_version", sa.String(length=40), nullable=False),
        sa.Column("snapshot", sa.JSON(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("published_by", sa.String(length=200), nullable=False),
        sa.Column("published_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_publications")),
    )
    with op.batch_alter_table("publications", schema=None) as batch_op:
        batch_op.create_index("uq_publications_period", ["year", "month"], unique=True)

    op.create_table(
        "reports",
        sa.Column("project_id", sa.String(length=36), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("month", sa.Integer(), nullable=False),
        sa.Column("ytd_investment", sa.Numeric(precision=18, scale=4), nullable=False),
        sa.Column("epoch", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("project_id", "year", "month", "epoch", name=op.f("pk_reports")),
    )
    op.create_table(
        "schemes",
        sa.Column("version", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("effective_from", sa.String(length=7), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("set_by", sa.String(length=200), nullable=False),
        sa.Column("set_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("version", name=op.f("pk_schemes")),
    )
    with op.batch_alter_table("schemes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_schemes_effective_from"), ["effective_from"], unique=False
        )

    # the read model's first epoch: the worker follows it from the start of the log
    op.bulk_insert(
        sa.table(
            "epochs",
            sa.column("number", sa.Integer),
            sa.column("state", sa.String),
            sa.column("started_at", shared.db.UTCDateTime(timezone=True)),
            sa.column("started_by", sa.String),
        ),
        [
            {
                "number": 1,
                "state": "current",
                "started_at": dt.datetime.now(dt.UTC),
                "started_by": "migration 0001",
            }
        ],
    )


def downgrade() -> None:
    with op.batch_alter_table("schemes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_schemes_effective_from"))

    op.drop_table("schemes")
    op.drop_table("reports")
    with op.batch_alter_table("publications", schema=None) as batch_op:
        batch_op.drop_index("uq_publications_period")

    op.drop_table("publications")
    op.drop_table("projects")
    op.drop_table("problems")
    op.drop_table("plans")
    op.drop_table("epochs")
    op.drop_table("credit_grants")
    op.drop_table("allocations")
    drop_backbone_tables()
