"""registry: projects, plans, reports, milestones, list changes, outbox, inbox

Revision ID: 0001
Revises:
Create Date: 2026-11-28 00:45:10.797395
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
        "projects",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("county", sa.String(length=6), nullable=False),
        sa.Column("level", sa.String(length=40), nullable=True),
        sa.Column("track", sa.String(length=20), nullable=False),
        sa.Column("stage", sa.String(length=20), nullable=False),
        sa.Column("code", sa.String(length=30), nullable=True),
        sa.Column("code_format", sa.String(length=3), nullable=True),
        sa.Column("code_year", sa.Integer(), nullable=True),
        sa.Column("code_month", sa.Integer(), nullable=True),
        sa.Column("code_region", sa.String(length=6), nullable=True),
        sa.Column("total_investment", sa.Numeric(precision=18, scale=4), nullable=False),
        sa.Column("planned_start", sa.Date(), nullable=True),
        sa.Column("planned_completion", sa.Date(), nullable=True),
        sa.Column("actual_start", sa.Date(), nullable=True),
        sa.Column("actual_completion", sa.Date(), nullable=True),
        sa.Column("withdrawn_on", sa.Date(), nullable=True),
        sa.Column("owner", sa.String(length=200), nullable=True),
        sa.Column("leader", sa.String(length=100), nullable=True),
        sa.Column("service_officer", sa.String(length=100), nullable=True),
        sa.Column("responsible_unit", sa.String(length=200), nullable=True),
        sa.Column("industry", sa.String(length=100), nullable=True),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("content", sa.Text(), nullable=True),
        sa.Column("lng", sa.Numeric(precision=10, scale=6), nullable=True),
        sa.Column("lat", sa.Numeric(precision=10, scale=6), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_projects")),
        sa.UniqueConstraint("code", name=op.f("uq_projects_code")),
    )
    with op.batch_alter_table("projects", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_projects_county"), ["county"], unique=False)
        batch_op.create_index(batch_op.f("ix_projects_level"), ["level"], unique=False)
        batch_op.create_index("ix_projects_name", ["name"], unique=False)
        batch_op.create_index(batch_op.f("ix_projects_stage"), ["stage"], unique=False)

    op.create_table(
        "annual_plans",
        sa.Column("project_id", sa.String(length=36), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("annual_investment", sa.Numeric(precision=18, scale=4), nullable=False),
        sa.Column("monthly_targets", sa.JSON(), nullable=False),
        sa.Column("updated_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_annual_plans_project_id_projects")
        ),
        sa.PrimaryKeyConstraint("project_id", "year", name=op.f("pk_annual_plans")),
    )
    op.create_table(
        "list_changes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("project_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("from_level", sa.String(length=40), nullable=True),
        sa.Column("to_level", sa.String(length=40), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("effective_date", sa.Date(), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_list_changes_project_id_projects")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_list_changes")),
    )
    with op.batch_alter_table("list_changes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_list_changes_project_id"), ["project_id"], unique=False
        )

    op.create_table(
        "milestones",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("planned_date", sa.Date(), nullable=False),
        sa.Column("actual_date", sa.Date(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("updated_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_milestones_project_id_projects")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_milestones")),
    )
    with op.batch_alter_table("milestones", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_milestones_project_id"), ["project_id"], unique=False)

    op.create_table(
        "monthly_reports",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("project_id", sa.String(length=36), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("month", sa.Integer(), nullable=False),
        sa.Column("ytd_investment", sa.Numeric(precision=18, scale=4), nullable=False),
        sa.Column("month_investment", sa.Numeric(precision=18, scale=4), nullable=False),
        sa.Column("started", sa.Boolean(), nullable=False),
        sa.Column("progress_note", sa.Text(), nullable=True),
        sa.Column("correction_note", sa.Text(), nullable=True),
        sa.Column("submitted_by", sa.String(length=200), nullable=False),
        sa.Column("submitted_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_monthly_reports_project_id_projects")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_monthly_reports")),
        sa.UniqueConstraint(
            "project_id", "year", "month", name=op.f("uq_monthly_reports_project_id")
        ),
    )
    with op.batch_alter_table("monthly_reports", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_monthly_reports_project_id"), ["project_id"], unique=False
        )

    op.create_table(
        "stage_changes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("project_id", sa.String(length=36), nullable=False),
        sa.Column("from_stage", sa.String(length=20), nullable=True),
        sa.Column("to_stage", sa.String(length=20), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_stage_changes_project_id_projects")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stage_changes")),
    )
    with op.batch_alter_table("stage_changes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_stage_changes_project_id"), ["project_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("stage_changes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_stage_changes_project_id"))

    op.drop_table("stage_changes")
    with op.batch_alter_table("monthly_reports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_monthly_reports_project_id"))

    op.drop_table("monthly_reports")
    with op.batch_alter_table("milestones", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_milestones_project_id"))

    op.drop_table("milestones")
    with op.batch_alter_table("list_changes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_list_changes_project_id"))

    op.drop_table("list_changes")
    op.drop_table("annual_plans")
    with op.batch_alter_table("projects", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_projects_stage"))
        batch_op.drop_index("ix_projects_name")
        batch_op.drop_index(batch_op.f("ix_projects_level"))
        batch_op.drop_index(batch_op.f("ix_projects_county"))

    op.drop_table("projects")
    drop_backbone_tables()
