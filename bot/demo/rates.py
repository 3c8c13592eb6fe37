"""The numbers the demo history is made of: how often things happen, in one place to tune.

Demand is a share of each provider's open time, but never more than the clinic's rooms and
equipment can hold at that hour (bot/demo/plan.py): the demo clinic has two exam rooms for three
providers and the imaging doctor's scans, so on the days all of them work the rooms, not the
providers, set how much can be booked.
"""

from __future__ import annotations

from datetime import time

MAX_DAYS = 365
DEFAULT_SEED = 2026
LEAD_DAYS = 30  # bookings are made up to this many days before the visit (upcoming ones too)

# Channels a booking comes through, and how often (Appointment.booked_via).
CHANNELS = {"sms": 33, "web": 13, "portal": 27, "slack": 10, "api": 17}
PATIENT_CHANNELS = ("sms", "web")
STAFF = {"portal": "demo-frontdesk", "slack": "U0DEMODESK", "api": "demo-callcentre"}
STAFF_HOURS = (time(8, 0), time(17, 30))  # when the desk books
PATIENT_HOURS = (time(7, 0), time(22, 0))  # when patients text or chat to book

# How often each kind of visit is booked, where a provider offers several (others: 1).
TYPE_WEIGHTS = {
    "checkup": 4.0,
    "sick-visit": 3.5,
    "vaccination": 3.0,
    "cardiac-echo": 2.0,
    "abdominal-ultrasound": 3.0,
}
# The provider's usual share of open time asked for (others: drawn), in time held on the grid
# (visit, buffer, rounded up to the slot step); weekday adjustments, Monday first.
UTILISATION = {"okafor": 0.95, "lindqvist": 0.85, "moreau": 0.7, "tanaka": 0.8}
WEEKDAY_SHIFT = (0.05, 0.02, -0.03, 0.0, -0.08, 0.04, 0.0)
# At most this share of a kind of room's (all its rooms together) or a piece of equipment's hour
# is planned: what is asked for beyond it goes to another hour of the provider's day, or is
# not asked for (nobody plans for rooms that are not there).
ROOM_FILL = 1.0
# Asked for although it does not fit: same-day sick visits on a full day, which the clinic
# turns away (the summary's "not booked").
UNMET_SICK_VISITS = 0.04  # of a day's planned visits
# The popular ones are booked further ahead (so they have the shared rooms first).
LEAD_SCALE = {"okafor": 1.7, "lindqvist": 1.25, "moreau": 0.6}

CANCEL_RATE = 0.085  # cancelled outside a reminder's X (about 2 % more are cancelled by X)
LATE_CANCEL_SHARE = 0.12  # of those, less than 24 h before the visit
REMINDER_FAILURE = 0.004  # a text that failed for the moment (Twilio's rate limit, 20429)
# The SMS patients whose number takes no texts (a landline: 21614, or mistyped: 21211): every
# text to them fails, they never text the clinic, and the desk books for them.
UNREACHABLE = 0.04
UNREACHABLE_CODES = ("21614", "21211")
ANSWERS = (("C", 0.62), ("R", 0.04), ("X", 0.03))  # the rest do not answer
NOSHOW = {"confirmed": 0.035, "unanswered": 0.14, "unreminded": 0.2}  # of the marked visits
UNMARKED_LAST_DAY = 0.25  # of the last day's visits, left for staff to mark
UNMARKED_AT_LEAST = 2
OFFER_ANSWERS = (("yes", 0.5), ("no", 0.15))  # the rest let it expire

# The language engine: the clinic ran the local one first and switched LLM_ENGINE to Bedrock
# this far into the history; from then on the model answers the dialogue's turns.
BEDROCK_FROM = 0.4
MODEL_FAILURE = 0.04  # of the model's turns: the local dialogue stands in, then cools down
MODEL_ERRORS = (
    ("ThrottlingException", 50),
    ("ModelTimeoutException", 18),
    ("ServiceUnavailableException", 12),
    ("ReadTimeoutError", 10),
    ("max_tokens", 6),  # a bad or unusable answer (tokens were spent on it)
    ("unconfirmed_claim", 4),
)
ANSWERED_ERRORS = ("max_tokens", "unconfirmed_claim")

SEND_FAILURES = ("20429",)  # Twilio REST codes the sender keeps, of a failure for the moment
UNDELIVERED = (30003, 30006, 30005)  # carrier codes of a text accepted but never delivered
UNDELIVERED_SHARE = 0.03
DAYTIME = (time(8, 0), time(19, 30))  # when people cancel or join the waitlist
