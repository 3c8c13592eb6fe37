"""The admin pages of the portal (blueprint "portal_admin", /portal/admin), for admins only.

    admin.py            the blueprint (what adapters/portal/__init__.py registers), the admin home
    admin_shared.py     the blueprint itself, the audit record of an admin's action, forms' checks
    admin_users.py      users: list, add, role, new password, unlock, remove
    admin_tokens.py     API tokens: every user's, create one (shown once), revoke
    admin_audit.py      the audit trail by patient and kind, and "Verify the chain"
    admin_reminders.py  failed reminders (and those stuck sending past their lease)
    admin_ehr.py        EHR notifications that failed for a day, and sending them again

Staff get the 403 page on every one of them; every change is a POST with the CSRF token, audited
with the admin as the actor ("admin:<name>"). See docs/portal.md, "Admin pages".
"""

from __future__ import annotations

from flask import render_template

from . import (  # noqa: F401  (routes)
    admin_audit,
    admin_ehr,
    admin_reminders,
    admin_tokens,
    admin_users,
)
from .admin_shared import blueprint
from .auth import signed_in

__all__ = ["blueprint"]


@blueprint.get("/")
@signed_in(role="admin")
def home():
    return render_template("portal/admin/home.html")
