"""The clinic's schedule in FHIR R4 (4.0.1) terms (issue 19).

    resources.py  the clinic, its appointments and patients as FHIR R4 JSON (the facade's, the
                  export's and the webhook's)
    slots.py      the facade's Slots, computed from the real availability; their ids
    search.py     the FHIR search grammar the facade reads (dates and prefixes, tokens, references)
    incoming.py   what an EHR sends the facade: an Appointment to book, a change to cancelled
    importer.py   an EHR's Practitioner, PractitionerRole, Location and HealthcareService into
                  the clinic (`flask --app app fhir import`)
    exporter.py   the appointments between two dates as a Bundle (`flask --app app fhir export`)

The models of fhir.resources validate what comes in and, in the tests, what goes out; fhir.resources
8 ships R5 and R4B (4.3.0), whose Appointment and the resources read here are R4's for every element
used.
"""
