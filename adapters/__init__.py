"""Channels: each verifies, de-duplicates, normalizes and renders. No scheduling logic.

    twilio_sms/       Twilio's SMS webhooks in, TwiML out (webhooks, turns, stranded replies)
    twilio_sender.py  texts sent outside a webhook reply (REST API), and their delivery statuses
    outbox.py         the sender when no SMS provider is configured
    slack/            the Slack app for staff and admins (Bolt listeners, Block Kit, notices)
    web_chat.py       the demo patient chat in the browser
    console.py        the chat in a terminal (`python -m adapters.console`)
    cli/              the operator's `flask --app app ...` commands, one module per group
    fhir/             the FHIR R4 facade at /fhir/r4 (an EHR reads and books the schedule)
    refusals.py       refused webhook requests, counted per address and minute

Each channel registers itself with `init_app(app, services)` and gets what it needs from the typed
`bot.services.Services`. What it may import: `bot`, `scheduler` and the vendor SDKs (Twilio,
Slack); never `jobs` or `app` (only the console's entry point builds the app).
"""
