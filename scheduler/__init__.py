"""The clinic domain: what may be booked, and how it is stored. No web, no channels, no vendors.

    models/, db.py        the tables, and engines and sessions for SQLite and PostgreSQL
    clinic.py             the `Clinic`: providers, hours, rooms, equipment, visit types
    clinic_file.py        the clinic file read and validated, every bad field named at once
    clinic_store.py       the clinic installed in the database (upsert by key) and read back
    availability/         the slot search, and the check of one slot that booking relies on
    booking.py            booking, cancelling, rescheduling: atomic, never double-booked
    reminders.py          when reminders are due (offsets, quiet hours), planned with a booking
    waitlist.py           entries and the offers that fill a freed slot
    patients.py, crypto.py  patients found by a blind index, personal fields encrypted
    records.py            one patient's export and erasure
    staff_users.py        who may use the staff tools, by Slack user id
    errors.py             the project's one exception tree

What it may import: the standard library, SQLAlchemy, cryptography, phonenumbers, tomllib and the
like; never `bot`, `adapters`, `jobs` or `app` (an import-linter contract). What it needs from
above comes in as a parameter or a protocol (records' `AuditTexts`, reminders' `ReminderPolicy`).
Typed strictly (mypy's strict flags, pyproject.toml).
"""
