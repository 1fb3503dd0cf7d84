"""factors: pools, allocations, replacement sources, credit, the project projection, outbox, inbox

Revision ID: 0001
Revises:
Create Date: 2026-11-28 01:41:43.897603
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
        "credit_demands",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=36), nullable=False),
        sa.Column("county", sa.String(length=6), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("amount", sa.Numeric(precision=18, scale=4), nullable=False),
        sa.Column("granted", sa.Numeric(precision=18, scale=4), nullable=False),
        sa.Column("disbursed", sa.Numeric(precision=18, scale=4), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=True),
        sa.Column("registered_by", sa.String(length=200), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("amount > 0", name=op.f("ck_credit_demands_amount_positive")),
        sa.CheckConstraint(
            "disbursed >= 0 AND disbursed <= granted",
            name=op.f("ck_credit_demands_disbursed_within"),
        ),
        sa.CheckConstraint(
            "granted >= 0 AND granted <= amount",
            name=op.f("ck_credit_demands_granted_within_demand"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_demands")),
        sa.UniqueConstraint("project_id", "year", name=op.f("uq_credit_demands_project_id")),
    )
    with op.batch_alter_table("credit_demands", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_credit_demands_county"), ["county"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_credit_demands_project_id"), ["project_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_credit_demands_year"), ["year"], unique=False)

    op.create_table(
        "pools",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("key", sa.String(length=60), nullable=False),
        sa.Column("factor", sa.String(length=20), nullable=False),
        sa.Column("pollutant", sa.String(length=20), nullable=True),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("scope", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("amount", sa.Numeric(precision=18, scale=4), nullable=False),
        sa.Column("allocated", sa.Numeric(precision=18, scale=4), nullable=False),
        sa.Column("advance_allocated", sa.Numeric(precision=18, scale=4), nullable=False),
        sa.Column("released", sa.Numeric(precision=18, scale=4), nullable=False),
        sa.Column("advance_share", sa.Numeric(precision=5, scale=2), nullable=True),
        sa.Column("ring_fences", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "advance_allocated >= 0 AND advance_allocated <= allocated",
            name=op.f("ck_pools_advance_within"),
        ),
        sa.CheckConstraint("allocated <= amount", name=op.f("ck_pools_allocated_within_pool")),
        sa.CheckConstraint("allocated >= 0", name=op.f("ck_pools_allocated_not_negative")),
        sa.CheckConstraint("amount > 0", name=op.f("ck_pools_amount_positive")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pools")),
        sa.UniqueConstraint("key", name=op.f("uq_pools_key")),
    )
    with op.batch_alter_table("pools", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_pools_factor"), ["factor"], unique=False)
        batch_op.create_index(batch_op.f("ix_pools_year"), ["year"], unique=False)

    op.create_table(
        "projects",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("county", sa.String(length=6), nullable=False),
        sa.Column("level", sa.String(length=40), nullable=True),
        sa.Column("stage", sa.String(length=20), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_projects")),
    )
    with op.batch_alter_table("projects", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_projects_county"), ["county"], unique=False)

    op.create_table(
        "replacement_sources",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("pollutant", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("county", sa.String(length=6), nullable=True),
        sa.Column("amount", sa.Numeric(precision=18, scale=4), nullable=False),
        sa.Column("used", sa.Numeric(precision=18, scale=4), nullable=False),
        sa.Column("ratio", sa.Numeric(precision=6, scale=2), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("registered_by", sa.String(length=200), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("amount > 0", name=op.f("ck_replacement_sources_amount_positive")),
        sa.CheckConstraint(
            "used >= 0 AND used <= amount", name=op.f("ck_replacement_sources_used_within_source")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_replacement_sources")),
    )
    with op.batch_alter_table("replacement_sources", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_replacement_sources_pollutant"), ["pollutant"], unique=False
        )

    op.create_table(
        "allocations",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("pool_id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=36), nullable=False),
        sa.Column("county", sa.String(length=6), nullable=False),
        sa.Column("level", sa.String(length=40), nullable=True),
        sa.Column("factor", sa.String(length=20), nullable=False),
        sa.Column("pollutant", sa.String(length=20), nullable=True),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("amount", sa.Numeric(precision=18, scale=4), nullable=False),
        sa.Column("charged", sa.Numeric(precision=18, scale=4), nullable=False),
        sa.Column("ratio", sa.Numeric(precision=6, scale=2), nullable=True),
        sa.Column("source_id", sa.String(length=36), nullable=True),
        sa.Column("advance", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("allocated_on", sa.Date(), nullable=False),
        sa.Column("allocated_by", sa.String(length=200), nullable=False),
        sa.Column("use_by", sa.Date(), nullable=True),
        sa.Column("used_on", sa.Date(), nullable=True),
        sa.Column("used_by", sa.String(length=200), nullable=True),
        sa.Column("use_note", sa.Text(), nullable=True),
        sa.Column("released_on", sa.Date(), nullable=True),
        sa.Column("released_by", sa.String(length=200), nullable=True),
        sa.Column("release_cause", sa.String(length=20), nullable=True),
        sa.Column("release_reason", sa.Text(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("amount > 0", name=op.f("ck_allocations_amount_positive")),
        sa.CheckConstraint("charged >= amount", name=op.f("ck_allocations_charged_covers_amount")),
        sa.ForeignKeyConstraint(
            ["pool_id"], ["pools.id"], name=op.f("fk_allocations_pool_id_pools")
        ),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["replacement_sources.id"],
            name=op.f("fk_allocations_source_id_replacement_sources"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_allocations")),
    )
    with op.batch_alter_table("allocations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_allocations_county"), ["county"], unique=False)
        batch_op.create_index(batch_op.f("ix_allocations_pool_id"), ["pool_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_allocations_project_id"), ["project_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_allocations_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_allocations_use_by"), ["use_by"], unique=False)

    op.create_table(
        "credit_disbursements",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("demand_id", sa.String(length=36), nullable=False),
        sa.Column("amount", sa.Numeric(precision=18, scale=4), nullable=False),
        sa.Column("disbursed_on", sa.Date(), nullable=False),
        sa.Column("recorded_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("amount > 0", name=op.f("ck_credit_disbursements_amount_positive")),
        sa.ForeignKeyConstraint(
            ["demand_id"],
            ["credit_demands.id"],
            name=op.f("fk_credit_disbursements_demand_id_credit_demands"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_disbursements")),
    )
    with op.batch_alter_table("credit_disbursements", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_credit_disbursements_demand_id"), ["demand_id"], unique=False
        )

    op.create_table(
        "credit_grants",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("demand_id", sa.String(length=36), nullable=False),
        sa.Column("bank", sa.String(length=200), nullable=False),
        sa.Column("amount", sa.Numeric(precision=18, scale=4), nullable=False),
        sa.Column("granted_on", sa.Date(), nullable=False),
        sa.Column("recorded_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("amount > 0", name=op.f("ck_credit_grants_amount_positive")),
        sa.ForeignKeyConstraint(
            ["demand_id"],
            ["credit_demands.id"],
            name=op.f("fk_credit_grants_demand_id_credit_demands"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_grants")),
    )
    with op.batch_alter_table("credit_grants", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_credit_grants_demand_id"), ["demand_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("credit_grants", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_credit_grants_demand_id"))

    op.drop_table("credit_grants")
    with op.batch_alter_table("credit_disbursements", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_credit_disbursements_demand_id"))

    op.drop_table("credit_disbursements")
    with op.batch_alter_table("allocations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_allocations_use_by"))
        batch_op.drop_index(batch_op.f("ix_allocations_status"))
        batch_op.drop_index(batch_op.f("ix_allocations_project_id"))
        batch_op.drop_index(batch_op.f("ix_allocations_pool_id"))
        batch_op.drop_index(batch_op.f("ix_allocations_county"))

    op.drop_table("allocations")
    with op.batch_alter_table("replacement_sources", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_replacement_sources_pollutant"))

    op.drop_table("replacement_sources")
    with op.batch_alter_table("projects", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_projects_county"))

    op.drop_table("projects")
    with op.batch_alter_table("pools", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pools_year"))
        batch_op.drop_index(batch_op.f("ix_pools_factor"))

    op.drop_table("pools")
    with op.batch_alter_table("credit_demands", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_credit_demands_year"))
        batch_op.drop_index(batch_op.f("ix_credit_demands_project_id"))
        batch_op.drop_index(batch_op.f("ix_credit_demands_county"))

    op.drop_table("credit_demands")
    drop_backbone_tables()
