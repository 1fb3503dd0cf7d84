"""issues: problems, history, rounds, calendar years, projects projection, outbox, inbox

Revision ID: 0001
Revises:
Create Date: 2026-11-28 01:43:45.225320
"""

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
        "calendar_years",
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("holidays", sa.JSON(), nullable=False),
        sa.Column("workdays", sa.JSON(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("uploaded_by", sa.String(length=200), nullable=False),
        sa.Column("uploaded_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("year", name=op.f("pk_calendar_years")),
    )

    op.create_table(
        "projects",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("county", sa.String(length=6), nullable=False),
        sa.Column("leader", sa.String(length=100), nullable=True),
        sa.Column("stage", sa.String(length=20), nullable=False),
        sa.Column("withdrawn", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_projects")),
    )
    with op.batch_alter_table("projects", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_projects_county"), ["county"], unique=False)

    op.create_table(
        "rounds",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("started_on", sa.Date(), nullable=False),
        sa.Column("ended_on", sa.Date(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rounds")),
        sa.UniqueConstraint("number", name=op.f("uq_rounds_number")),
    )
    op.create_table(
        "issues",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=36), nullable=False),
        sa.Column("county", sa.String(length=6), nullable=False),
        sa.Column("category", sa.String(length=40), nullable=False),
        sa.Column("complexity", sa.String(length=20), nullable=False),
        sa.Column("source", sa.String(length=40), nullable=False),
        sa.Column("round_id", sa.String(length=36), nullable=True),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("unit", sa.String(length=200), nullable=True),
        sa.Column("co_units", sa.JSON(), nullable=False),
        sa.Column("working_days", sa.Integer(), nullable=True),
        sa.Column("assigned_on", sa.Date(), nullable=True),
        sa.Column("plan_due", sa.Date(), nullable=True),
        sa.Column("deadline", sa.Date(), nullable=True),
        sa.Column("plan", sa.Text(), nullable=True),
        sa.Column("planned_on", sa.Date(), nullable=True),
        sa.Column("resolution", sa.Text(), nullable=True),
        sa.Column("resolved_on", sa.Date(), nullable=True),
        sa.Column("on_time", sa.Boolean(), nullable=True),
        sa.Column("feedback_accepted", sa.Boolean(), nullable=False),
        sa.Column("verdict", sa.String(length=20), nullable=True),
        sa.Column("close_note", sa.Text(), nullable=True),
        sa.Column("closed_on", sa.Date(), nullable=True),
        sa.Column("overdue_at", shared.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("reported_on", sa.Date(), nullable=False),
        sa.Column("reported_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("reported_by", sa.String(length=200), nullable=False),
        sa.Column("updated_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_issues_project_id_projects")
        ),
        sa.ForeignKeyConstraint(
            ["round_id"], ["rounds.id"], name=op.f("fk_issues_round_id_rounds")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_issues")),
    )
    with op.batch_alter_table("issues", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_issues_category"), ["category"], unique=False)
        batch_op.create_index(batch_op.f("ix_issues_county"), ["county"], unique=False)
        batch_op.create_index(batch_op.f("ix_issues_deadline"), ["deadline"], unique=False)
        batch_op.create_index("ix_issues_overdue_scan", ["status", "deadline"], unique=False)
        batch_op.create_index(batch_op.f("ix_issues_project_id"), ["project_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_issues_reported_on"), ["reported_on"], unique=False)
        batch_op.create_index(batch_op.f("ix_issues_round_id"), ["round_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_issues_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_issues_unit"), ["unit"], unique=False)

    op.create_table(
        "issue_history",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("issue_id", sa.String(length=36), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("from_status", sa.String(length=20), nullable=True),
        sa.Column("to_status", sa.String(length=20), nullable=False),
        sa.Column("deadline", sa.Date(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["issue_id"], ["issues.id"], name=op.f("fk_issue_history_issue_id_issues")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_issue_history")),
    )
    with op.batch_alter_table("issue_history", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_issue_history_issue_id"), ["issue_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("issue_history", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_issue_history_issue_id"))

    op.drop_table("issue_history")
    with op.batch_alter_table("issues", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_issues_unit"))
        batch_op.drop_index(batch_op.f("ix_issues_status"))
        batch_op.drop_index(batch_op.f("ix_issues_round_id"))
        batch_op.drop_index(batch_op.f("ix_issues_reported_on"))
        batch_op.drop_index(batch_op.f("ix_issues_project_id"))
        batch_op.drop_index("ix_issues_overdue_scan")
        batch_op.drop_index(batch_op.f("ix_issues_deadline"))
        batch_op.drop_index(batch_op.f("ix_issues_county"))
        batch_op.drop_index(batch_op.f("ix_issues_category"))

    op.drop_table("issues")
    op.drop_table("rounds")
    with op.batch_alter_table("projects", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_projects_county"))

    op.drop_table("projects")
    drop_backbone_tables()
    op.drop_table("calendar_years")
