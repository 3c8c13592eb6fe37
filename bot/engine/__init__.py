"""The conversation engine: `ConversationEngine.handle(InboundMessage) -> list[OutboundMessage]`.

The top layer of `bot`: every channel hands it a message, and it decides, once, what is said. One
engine in three parts, each module extending the one below it:

    conversation.py  `ConversationEngine`, the channel-facing entry point: exactly once
                     (receipts), one person's turns in order, the turn's transactions (a model
                     turn's three phases), the outbound messages, the apology when a turn fails
    screening.py     before the dialogue: staff or patient, the patient and their language, the
                     audit of each message in and out, emergencies and empty messages, the SMS
                     policy and consent, one text per turn over SMS
    answering.py     the answer: MORE, STOP and START, language notices, the session, replies to
                     reminders and waitlist offers, the model or the local dialogue, SMS pages
    metrics.py       the analytics' row of each patient turn (`engine_turns`: engine, fallback,
                     latency, tokens, outcome), written in the turn's transaction

What it may import: everything of `bot` below it (model, staff, patient, understanding, tools,
audit, sessions, receipts, turn_order, messages, i18n, logfiles) and scheduler; never adapters,
jobs or app, and bot.model only for typing (app.py builds the Bedrock engine and hands it in, so
a local-only deployment never loads boto3). This file imports nothing.
"""
