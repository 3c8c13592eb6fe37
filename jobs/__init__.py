"""Background work: reminders, waitlist offers and maintenance, driven by APScheduler over
database state.

    runner.py       the job runner (`Jobs`): in the web processes under a lease, or apart
    reminders/      sending due reminders and offers: claimed with a lease, sent, recorded
      sender.py       `ReminderSender`: the loop, one text at a time or a recorded batch
      claims.py       the leases on the reminders table: sweep, claim, renew, each outcome
      due.py          a claimed reminder: what sending needs, whether it is wanted, its text
    maintenance.py  idle sessions, old conversation text, outcomes, refusal tallies, the digest
    __main__.py     `python -m jobs`: a job worker process

What it may import: `bot` and `scheduler`. Never `adapters`: the senders, the staff channel's
poster and the stranded-reply resender are handed in by the app (`app.job_runner`).
"""
