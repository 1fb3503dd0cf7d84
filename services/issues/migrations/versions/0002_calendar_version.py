"""issues: an uploaded calendar year's version (1 at the first upload, one more at each), the
sequence of its kuaiche.calendar.schedule_set.v1 event

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-06 00:00:00
"""

from alembic import op
import sqlalchemy as sa


revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Years uploaded before this revision published no event: they become version 1.
    with op.batch_alter_table("calendar_years", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("calendar_years", schema=None) as batch_op:
        batch_op.drop_column("version")
