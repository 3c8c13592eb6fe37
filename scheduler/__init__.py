"""The clinic domain: models, storage, clinic file, availability, booking. No web, no vendors."""
