"""The optional AI engine: a model on Amazon Bedrock, used only when the settings select it.

It owns the Converse API with tool use, and everything around one model turn: the bedrock-runtime
client and its retries (`client`), the Converse message shapes the tool loop reads and sends
(`converse`), the turn's log lines and cost (`pipeline`), what the model is told of the clinic and
the conversation (`memory`), the tool declarations (`tool_specs`), the runner that takes each
tool request in its own transaction and answers it (`tool_runner`), what each tool does through
bot/tools.py's `SchedulingTools`, bound to the caller (`tool_calls`), the opaque ids the model
is shown instead of database ids (`tool_ids`), the checks of the model's reply before a patient
reads it (`checks`), and the engine that orchestrates a turn and falls back to the local dialogue
whenever the model cannot answer well (`bedrock`: `BedrockEngine`, `engine_from_settings`).

It may import bot.patient (the local dialogue's `Turn` and `Reply`, the replies and SMS segments),
bot.tools, bot.i18n, bot.logfiles, bot.settings, bot.messages and scheduler; boto3 and botocore
(the only vendor SDKs in bot/), tenacity, and SQLAlchemy's session events. Never adapters, jobs
or app: app.py builds the engine, importing this package only when Bedrock is configured so that
a local-only deployment never loads boto3; for the same reason this file imports nothing.
"""
