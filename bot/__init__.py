"""The conversation: what to say, decided once for every channel.

A channel hands `engine.conversation.ConversationEngine.handle` one `messages.InboundMessage`; the
engine claims it exactly once (`receipts`), keeps one person's turns in order (`turn_order`),
checks it for an emergency, loads the conversation (`sessions`) and gives the turn to the patient
dialogue, the staff desk or the model; what changes the schedule goes through
`tools.SchedulingTools`, audited (`audit.trail.AuditTrail`) in the same transaction; the replies
come back as `messages.OutboundMessage`, once.

It owns, at this level: the engine (`engine/`: the entry point, the checks before the dialogue,
the answer), the message types, exactly-once receipts, sessions, the scheduling tools, the audit
trail (`audit/`: the recording API, the hash chain, its anchors), the languages (`i18n`, catalogs
in `locales/`), settings, the log files and the typed `services.Services` the app builds. Below
it, one package per part:

    understanding/   reading one message (intents, dates, times, typos, language, red flags)
    patient/         the patient's conversation and every sentence a patient can receive
    staff/           the staff and admin desks and every sentence staff read
    model/           the optional engine on Amazon Bedrock (only loaded when configured)

What it may import: `scheduler` and the libraries it needs; never `adapters`, `jobs` or `app`, and
no vendor SDK outside `model/client.py` (import-linter contracts in pyproject.toml). Inside it,
the engine is on top, then `model` and `staff` (which do not import each other), then `patient`,
then `understanding`, which imports nothing else of `bot`.
"""
