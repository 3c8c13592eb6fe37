"""The clinic team's side of the bot: what staff and admins do and read, whatever tool they use.

It owns

- the staff desk (desk.py): `/appt` (commands.py), the choices staff click (choices.py), the
  day's schedule (schedule.py), attendance (attendance.py: marking a visit that has started, and
  the "unmarked" rule the portal and the API read too), and staff in plain words in a DM or the
  staff console (chat.py reads the message and keeps the steps, chat_requests.py carries out each
  request), all through the same `SchedulingTools` and audit trail as the patients, with a staff
  `Caller`;
- the admin desk (admin.py): `/appt-admin`, running the clinic (users and roles, the audit trail,
  reminders, one patient's export and erasure);
- every sentence staff and admins read: replies.py (`/appt`, the App Home, and what both desks
  share), notice_replies.py (the staff channel's notices), admin_replies.py, chat_replies.py.
  English only;
- the staff channel's notices (notices.py): what patients did, told once it is committed, with
  ids and times, never a name, a phone number or message text.

What it may import: bot.tools, bot.audit, bot.messages, bot.sessions, bot.understanding,
bot.patient (for date and time wording and the shared reading of visit details), scheduler and
SQLAlchemy (in the caller's transaction). Never adapters, jobs or app, and no vendor SDK: Slack's
is the adapter's (adapters/slack/), which renders `StaffAnswer` and posts the notices.
"""
