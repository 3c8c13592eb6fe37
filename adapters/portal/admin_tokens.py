"""The API tokens pages: every user's tokens, a new one for a user (shown once), revoking one
(with a confirmation step).

A token is kept only as its SHA-256 digest and its last four characters (scheduler/accounts.py),
so the answer to "create" is the one time anyone sees it: that page is sent `no-store`, and no
other page can show it again.
"""

from __future__ import annotations

from flask import abort, flash, make_response, redirect, render_template, url_for
from flask_wtf import FlaskForm
from sqlalchemy.orm import Session
from wtforms import SelectChoice, SelectField, StringField

from scheduler import staff_users
from scheduler.accounts import create_token, list_tokens, revoke_token
from scheduler.errors import StaffUserError
from scheduler.models import ApiToken, StaffUser

from .admin_shared import ConfirmForm, blueprint, now, record, submitted
from .auth import portal_db, signed_in


class TokenForm(FlaskForm):
    user = SelectField("For", coerce=int)
    label = StringField("What uses it (a name, like “EHR bridge”)")


def _form(db: Session, form: TokenForm | None = None) -> TokenForm:
    form = form or TokenForm()
    form.user.choices = [
        SelectChoice(str(u.id), f"{u.name} ({u.role})") for u in staff_users.list_users(db)
    ]
    return form


def _list_page(form: TokenForm | None = None, error: str | None = None, status: int = 200):
    with portal_db() as db:
        users = {u.id: u for u in staff_users.list_users(db)}
        page = render_template(
            "portal/admin/tokens.html",
            tokens=list(reversed(list_tokens(db))),
            users=users,
            form=_form(db, form),
            error=error,
        )
    return page, status


def _token(db: Session, token_id: int) -> tuple[ApiToken, StaffUser]:
    token = db.get(ApiToken, token_id)
    owner = db.get(StaffUser, token.user_id) if token is not None else None
    if token is None or owner is None:
        abort(404)
    return token, owner


@blueprint.get("/tokens")
@signed_in(role="admin")
def tokens():
    return _list_page()


@blueprint.post("/tokens")
@signed_in(role="admin")
def create():
    with portal_db() as db:
        form = _form(db)
        valid = submitted(form)
    if not valid:
        return _list_page(form, "choose whose token it is", 422)
    try:
        with portal_db() as db:
            owner = db.get(StaffUser, form.user.data)
            if owner is None:  # removed a moment ago
                raise StaffUserError("that user is no longer on the staff list")
            token, secret = create_token(db, owner, form.label.data or "", now())
            record(
                db,
                "api_token_created",
                token_id=token.id,
                username=owner.username,
                slack_user_id=owner.slack_user_id,
            )
            page = render_template(
                "portal/admin/token_created.html", token=token, owner=owner, secret=secret
            )
    except StaffUserError as exc:
        return _list_page(form, str(exc), 422)
    response = make_response(page)
    # The token is in this page and nowhere else: no cache, no back-button copy.
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response


@blueprint.get("/tokens/<int:token_id>/revoke")
@signed_in(role="admin")
def confirm_revoke(token_id: int):
    with portal_db() as db:
        token, owner = _token(db, token_id)
        return render_template(
            "portal/admin/token_revoke.html", token=token, owner=owner, form=ConfirmForm()
        )


@blueprint.post("/tokens/<int:token_id>/revoke")
@signed_in(role="admin")
def revoke(token_id: int):
    if not submitted(ConfirmForm()):
        abort(400)
    with portal_db() as db:
        token, owner = _token(db, token_id)
        already = token.revoked_at is not None
        revoke_token(db, token.id, now())
        if not already:
            record(
                db,
                "api_token_revoked",
                token_id=token.id,
                username=owner.username,
                slack_user_id=owner.slack_user_id,
            )
        label = token.label
    flash(f"The token “{label}” of {owner.name} {'was already' if already else 'is now'} revoked.")
    return redirect(url_for(".tokens"), 303)
