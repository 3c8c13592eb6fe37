"""waitlist_entries: the urgency levels (scheduler/urgency.py) as priorities and ranks

Priorities become urgent | soon | routine ranked 1 | 2 | 3 (urgency.RANK; 0 is emergency, which
never waits). Old rows move: urgent 0 -> 1, routine 1 -> 3. Going back, "soon" becomes urgent (the
safer side), as the old code knew only the two.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 09:00:00.000000
"""

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "UPDATE waitlist_entries SET priority_rank = CASE priority"
        " WHEN 'urgent' THEN 1 WHEN 'soon' THEN 2 ELSE 3 END"
    )


def downgrade() -> None:
    op.execute("UPDATE waitlist_entries SET priority = 'urgent' WHERE priority = 'soon'")
    op.execute(
        "UPDATE waitlist_entries SET priority_rank = CASE priority WHEN 'urgent' THEN 0 ELSE 1 END"
    )
