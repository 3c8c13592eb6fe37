"""The users pages: the staff list, adding someone, and one user's page (role, a new password,
unlock, remove with a confirmation step).

The rules are scheduler/staff_users.py's and scheduler/accounts.py's: a weak password is refused
with the reason, the last admin can be neither removed nor demoted (their message is shown), a new
password signs the user out everywhere. An admin cannot remove themself here.
"""

from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, url_for
from flask_wtf import FlaskForm
from sqlalchemy.orm import Session
from wtforms import PasswordField, SelectChoice, SelectField, StringField

from scheduler import accounts, staff_users
from scheduler.accounts import locked
from scheduler.errors import StaffUserError
from scheduler.models import StaffUser

from .admin_shared import ConfirmForm, blueprint, now, record, submitted
from .auth import portal_db, signed_in

ROLE_CHOICES = [SelectChoice("staff", "Staff"), SelectChoice("admin", "Admin")]
SELF_REMOVAL = "you cannot remove yourself; ask another admin to do it"


class AddUserForm(FlaskForm):
    username = StringField("Username (to sign in to the portal)")
    slack_id = StringField("Slack user id (like U012ABCDEF)")
    role = SelectField("Role", choices=ROLE_CHOICES)
    password = PasswordField("Initial password (with a username)")


class RoleForm(FlaskForm):
    role = SelectField("New role", choices=ROLE_CHOICES)


class PasswordForm(FlaskForm):
    password = PasswordField("New password")


def _blank(value: str | None) -> str | None:
    return (value or "").strip() or None


def _who(user: StaffUser) -> str:
    """How scheduler/staff_users.py names a user: their Slack id or their username."""
    return user.slack_user_id or user.name


def _user(db: Session, user_id: int) -> StaffUser:
    user = db.get(StaffUser, user_id)
    if user is None:
        abort(404)
    return user


def _is_self(user: StaffUser) -> bool:
    return bool(user.id == g.user.id)


def _list_page(form: AddUserForm, error: str | None = None, status: int = 200):
    with portal_db() as db:
        users = staff_users.list_users(db)
        page = render_template(
            "portal/admin/users.html",
            users=users,
            form=form,
            error=error,
            locked=lambda user: locked(user, now()),
        )
    return page, status


def _user_page(user_id: int, error: str | None = None, status: int = 200):
    with portal_db() as db:
        user = _user(db, user_id)
        page = render_template(
            "portal/admin/user.html",
            user=user,
            role_form=RoleForm(role=user.role),
            password_form=PasswordForm(),
            is_self=_is_self(user),
            is_locked=locked(user, now()),
            error=error,
        )
    return page, status


@blueprint.get("/users")
@signed_in(role="admin")
def users():
    return _list_page(AddUserForm())


@blueprint.post("/users")
@signed_in(role="admin")
def add_user():
    form = AddUserForm()
    if not submitted(form):
        return _list_page(form, "choose staff or admin", 422)
    username, slack_id = _blank(form.username.data), _blank((form.slack_id.data or "").upper())
    password = form.password.data or None
    try:
        with portal_db() as db:
            user = staff_users.add_user(
                db,
                slack_id,
                form.role.data,
                added_by=g.caller.actor,
                now=now(),
                username=username,
                password=password,
            )
            record(
                db,
                "staff_user_added",
                username=user.username,
                slack_user_id=user.slack_user_id,
                role=user.role,
            )
            name = user.name
    except StaffUserError as exc:
        return _list_page(form, str(exc), 422)
    flash(f"{name} added as {form.role.data}.")
    return redirect(url_for(".users"), 303)


@blueprint.get("/users/<int:user_id>")
@signed_in(role="admin")
def user(user_id: int):
    return _user_page(user_id)


@blueprint.post("/users/<int:user_id>/role")
@signed_in(role="admin")
def change_role(user_id: int):
    form = RoleForm()
    if not submitted(form):
        return _user_page(user_id, "choose staff or admin", 422)
    try:
        with portal_db() as db:
            target = _user(db, user_id)
            old = staff_users.set_role(db, _who(target), form.role.data)
            record(
                db,
                "staff_user_role_changed",
                username=target.username,
                slack_user_id=target.slack_user_id,
                old_role=old,
                role=form.role.data,
            )
            name = target.name
    except StaffUserError as exc:
        return _user_page(user_id, str(exc), 409)
    flash(f"{name} is now {form.role.data}.")
    return redirect(url_for(".user", user_id=user_id), 303)


@blueprint.post("/users/<int:user_id>/password")
@signed_in(role="admin")
def reset_password(user_id: int):
    form = PasswordForm()
    if not submitted(form):
        return _user_page(user_id, "type the new password", 422)
    try:
        with portal_db() as db:
            target = _user(db, user_id)
            staff_users.change_password(db, _who(target), form.password.data or "", now())
            record(
                db,
                "staff_user_password_reset",
                username=target.username,
                slack_user_id=target.slack_user_id,
            )
            name = target.name
    except StaffUserError as exc:
        return _user_page(user_id, str(exc), 422)
    flash(f"{name} has a new password and is signed out everywhere.")
    return redirect(url_for(".user", user_id=user_id), 303)


@blueprint.post("/users/<int:user_id>/unlock")
@signed_in(role="admin")
def unlock(user_id: int):
    if not submitted(ConfirmForm()):
        abort(400)
    with portal_db() as db:
        target = _user(db, user_id)
        accounts.unlock(target)
        record(
            db, "staff_user_unlocked", username=target.username, slack_user_id=target.slack_user_id
        )
        name = target.name
    flash(f"{name} is unlocked and may sign in again.")
    return redirect(url_for(".user", user_id=user_id), 303)


@blueprint.get("/users/<int:user_id>/remove")
@signed_in(role="admin")
def confirm_remove(user_id: int):
    with portal_db() as db:
        target = _user(db, user_id)
        if not _is_self(target):
            return render_template("portal/admin/user_remove.html", user=target, form=ConfirmForm())
    return _user_page(user_id, SELF_REMOVAL, 409)


@blueprint.post("/users/<int:user_id>/remove")
@signed_in(role="admin")
def remove(user_id: int):
    if not submitted(ConfirmForm()):
        abort(400)
    try:
        with portal_db() as db:
            target = _user(db, user_id)
            if _is_self(target):
                raise StaffUserError(SELF_REMOVAL)
            role = staff_users.remove_user(db, _who(target))
            record(
                db,
                "staff_user_removed",
                username=target.username,
                slack_user_id=target.slack_user_id,
                role=role,
            )
            name = target.name
    except StaffUserError as exc:
        return _user_page(user_id, str(exc), 409)
    flash(f"{name} was removed; their sessions and API tokens ended with them.")
    return redirect(url_for(".users"), 303)
