"""Find a time and book it: choose the kind of visit (and a provider, a date), see the open
times, choose one, choose or add the patient, confirm, and the appointment is booked and shown.
"Urgent patient" on the first step opens the times the clinic keeps for urgent patients
(scheduler/availability/reserved.py), and every later step books at that level.

The steps pass the slot (type, provider, start) and the patient's id in the address: never a
name or a phone number, which would end up in access logs and the browser's history. A patient
search and a new patient are POSTs for the same reason. Booking goes through the scheduling
tools with the portal Caller (audited, reminders planned); a taken or past time says so on the
page with the nearest free times.
"""

from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_wtf import FlaskForm
from sqlalchemy.orm import Session
from wtforms import HiddenField, StringField
from wtforms.validators import DataRequired, Length

from scheduler.availability import Slot
from scheduler.errors import SchedulingError
from scheduler.models import Patient
from scheduler.patients import (
    InvalidPhoneNumber,
    find_or_create_patient,
    find_patient,
    normalize_phone,
    search_patients,
    set_patient_name,
)

from .appointments import alternatives_of, refusal_text, tools
from .auth import actor_of, portal_db, signed_in
from .shared import (
    BadSlot,
    blueprint,
    clinic,
    day_text,
    grouped,
    level_asked,
    now,
    parse_day,
    phone_of,
    record_id,
    services,
    slot_args,
    slot_from,
    today,
    urgent_asked,
    when_text,
    who,
    zone,
)

CHOICES = 20


class SlotForm(FlaskForm):
    """The chosen slot, carried by every form of the booking's steps (and `urgent`: see
    shared.urgent_asked)."""

    type = HiddenField()
    provider = HiddenField()
    start = HiddenField()
    urgent = HiddenField()


class SearchForm(SlotForm):
    query = StringField("Name or phone number", validators=[DataRequired(), Length(max=100)])


class NewPatientForm(SlotForm):
    phone = StringField("Phone number", validators=[DataRequired(), Length(max=40)])
    name = StringField("Full name", validators=[DataRequired(), Length(max=100)])


class BookForm(SlotForm):
    patient = HiddenField()


def slot_text(slot: Slot) -> dict[str, str]:
    kind = clinic().appointment_type(slot.type_key)
    provider = clinic().provider(slot.provider_key)
    local = slot.start.astimezone(zone())
    return {
        "when": when_text(slot.start),
        "day": day_text(local.date()),
        "who": provider.name,
        "kind": kind.name,
        "minutes": str(kind.duration_minutes),
    }


def _fill(form: SlotForm, slot: Slot) -> None:
    form.type.data, form.provider.data = slot.type_key, slot.provider_key
    form.start.data = slot.start.isoformat()
    form.urgent.data = "1" if urgent_asked() else ""


@blueprint.get("/find")
@signed_in()
def find() -> ResponseReturnValue:
    """Choose the kind of visit, optionally a provider and a first date; see the open times."""
    kinds = clinic().appointment_types
    type_key = request.args.get("type") or None
    provider = request.args.get("provider") or None
    raw_day = request.args.get("date")
    start_day = parse_day(raw_day)
    problems: list[str] = []
    if type_key is not None and type_key not in {k.key for k in kinds}:
        problems.append("That kind of visit is not one the clinic offers. Choose one below.")
        type_key = None
    if raw_day and start_day is None:
        problems.append("That date could not be read (use the date picker).")
    if start_day is not None and start_day < today():
        problems.append("That date has passed; showing the first free times from today.")
        start_day = None
    offering = clinic().providers_for(type_key) if type_key else clinic().providers
    if provider is not None and provider not in {p.key for p in offering}:
        problems.append("That provider does not offer this kind of visit; showing everyone.")
        provider = None
    slots: list[Slot] | None = None
    if type_key is not None:
        with portal_db() as db:
            try:
                slots = tools(db).find_slots(
                    type_key,
                    start_date=start_day,
                    provider_key=provider,
                    limit=CHOICES,
                    urgency=level_asked(),
                )
            except SchedulingError as error:
                problems.append(refusal_text(error))
                slots = []
    return render_template(
        "portal/find.html",
        kinds=kinds,
        providers=clinic().providers,
        type_key=type_key,
        provider=provider,
        start_day=start_day,
        urgent=urgent_asked(),
        days=grouped(slots) if slots is not None else None,
        problems=problems,
        slot_args=slot_args,
    )


def _slot_or_back(source) -> Slot | ResponseReturnValue:
    try:
        return slot_from(source.get("type"), source.get("provider"), source.get("start"))
    except BadSlot as bad:
        flash(str(bad), "problem")
        return redirect(url_for("portal.find"), code=303)


def _patient_page(slot: Slot, *, results=None, search=None, new=None, problems=(), status=200):
    search = search or SearchForm(formdata=None)
    new = new or NewPatientForm(formdata=None)
    _fill(search, slot)
    _fill(new, slot)
    page = render_template(
        "portal/book_patient.html",
        slot=slot,
        target=slot_text(slot),
        search=search,
        new=new,
        results=results,
        problems=list(problems),
        slot_args=slot_args,
    )
    return page, status


@blueprint.get("/book")
@signed_in()
def book() -> ResponseReturnValue:
    """A time is chosen: now choose the patient (search, or add a new one)."""
    slot = _slot_or_back(request.args)
    if not isinstance(slot, Slot):
        return slot
    return _patient_page(slot)


def _usable(patient: Patient | None) -> bool:
    return patient is not None and patient.of_the_clinic


def _audit(db: Session, kind: str, patient: Patient) -> None:
    services().audit.record(
        db, kind, at=now(), channel="portal", actor=actor_of(g.user), patient_id=patient.id
    )


@blueprint.post("/book/search")
@signed_in()
def book_search() -> ResponseReturnValue:
    form = SearchForm()
    slot = _slot_or_back(request.form)
    if not isinstance(slot, Slot):
        return slot
    if not form.validate():
        return _patient_page(slot, search=form, problems=["Type a name or a phone number."])
    with portal_db() as db:
        found = [
            p for p in search_patients(db, services().vault, form.query.data or "") if _usable(p)
        ]
        results = [{"id": p.id, "name": who(p), "phone": phone_of(p)} for p in found]
        for patient in found:
            _audit(db, "patient_looked_up", patient)
    return _patient_page(slot, results=results, search=form)


@blueprint.post("/book/new-patient")
@signed_in()
def book_new_patient() -> ResponseReturnValue:
    form = NewPatientForm()
    slot = _slot_or_back(request.form)
    if not isinstance(slot, Slot):
        return slot
    if not form.validate():
        return _patient_page(
            slot, new=form, problems=["A new patient needs a phone number and a name."], status=400
        )
    try:
        phone = normalize_phone(form.phone.data or "")
    except InvalidPhoneNumber:
        return _patient_page(
            slot,
            new=form,
            problems=["That does not look like a phone number. Type it with its area code."],
            status=400,
        )
    name = " ".join((form.name.data or "").split())
    vault = services().vault
    with portal_db() as db:
        existing = find_patient(db, vault, phone)
        if existing is not None and existing.erased_at is not None:
            return _patient_page(
                slot,
                new=form,
                problems=["That number's records were erased; it cannot be used again here."],
                status=400,
            )
        if existing is not None:
            if existing.name_enc is None:
                set_patient_name(vault, existing, name)
            patient = existing
            flash(f"That number is already {who(existing)}'s: booking for them.", "info")
            _audit(db, "patient_looked_up", patient)
        else:
            patient = find_or_create_patient(db, vault, phone, now=now())
            set_patient_name(vault, patient, name)
            _audit(db, "patient_added", patient)
        patient_id = patient.id
    return redirect(url_for("portal.book_confirm", patient=patient_id, **slot_args(slot)), code=303)


@blueprint.route("/book/confirm", methods=["GET", "POST"])
@signed_in()
def book_confirm() -> ResponseReturnValue:
    """GET: the time and the patient, and a button; POST: book it (through the tools)."""
    source = request.form if request.method == "POST" else request.args
    slot = _slot_or_back(source)
    if not isinstance(slot, Slot):
        return slot
    patient_id = record_id(source.get("patient"))
    form = BookForm()
    _fill(form, slot)
    problem, alternatives = None, []
    with portal_db() as db:
        patient = db.get(Patient, patient_id) if patient_id else None
        if not _usable(patient):
            flash("That patient could not be found. Find them again.", "problem")
            return redirect(url_for("portal.book", **slot_args(slot)), code=303)
        assert patient is not None
        form.patient.data = str(patient.id)
        if request.method == "POST":
            try:
                booked = tools(db).book_appointment(
                    slot, patient_id=patient.id, urgency=level_asked()
                )
            except SchedulingError as error:
                problem, alternatives = refusal_text(error), alternatives_of(error)
            else:
                flash(
                    f"Booked: {slot_text(slot)['kind']} on {when_text(booked.start_at)} "
                    f"with {booked.provider.name}.",
                    "done",
                )
                return redirect(url_for("portal.appointment", appointment_id=booked.id), code=303)
        page = render_template(
            "portal/book_confirm.html",
            form=form,
            slot=slot,
            target=slot_text(slot),
            patient={"id": patient.id, "name": who(patient), "phone": phone_of(patient)},
            urgent=urgent_asked(),
            problem=problem,
            alternatives=[(s, slot_text(s)) for s in alternatives],
            slot_args=slot_args,
        )
    return page, 409 if problem else 200
