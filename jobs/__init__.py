"""Background work: reminders and maintenance, driven by APScheduler over database state."""
