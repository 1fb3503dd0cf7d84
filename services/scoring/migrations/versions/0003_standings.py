"""scoring: standings, each period's figures and scores per division, maintained as events arrive

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04 08:00:00
"""

from alembic import op
import sqlalchemy as sa


revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Empty at first: a period without rows is computed when read, as before, until the worker
    # (or a rebuild) fills it.
    op.create_table(
        "standings",
        sa.Column("epoch", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("month", sa.Integer(), nullable=False),
        sa.Column("county", sa.String(length=6), nullable=False),
        sa.Column("basis", sa.String(length=32), nullable=False),
        sa.Column("figures", sa.JSON(), nullable=False),
        sa.Column("scheme_version", sa.String(length=40), nullable=False),
        sa.Column("scheme_digest", sa.String(length=32), nullable=False),
        sa.Column("indicators", sa.JSON(), nullable=False),
        sa.Column("total", sa.String(length=20), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("tier", sa.String(length=100), nullable=True),
        sa.PrimaryKeyConstraint("epoch", "year", "month", "county", name=op.f("pk_standings")),
    )


def downgrade() -> None:
    op.drop_table("standings")
