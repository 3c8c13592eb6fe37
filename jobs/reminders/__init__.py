"""Sending due reminders and waitlist offers: claimed with a lease, sent, recorded. The database
is the truth; planning them (due times, quiet hours) is the domain's (scheduler/reminders.py).

    sender.py   `ReminderSender`: the loop (sweep, claim, send, record), one text at a time or,
                through a sender that records in the database (the outbox), a batch at once
    claims.py   `Claims`: this worker's leases on the reminders table: the sweep, the claim,
                renewal, and each outcome recorded while the row is still ours
    due.py      `Due`: a claimed reminder loaded with what sending needs, whether it is still
                wanted, and its text in the patient's language
"""
