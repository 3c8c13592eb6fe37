"""The clinic's schedule in FHIR R4 (4.0.1) terms (issue 19).

    resources.py  the domain's appointments as FHIR Appointment JSON
    importer.py   an EHR's Practitioner, PractitionerRole, Location and HealthcareService into
                  the clinic (`flask --app app fhir import`)
    exporter.py   the appointments between two dates as a Bundle (`flask --app app fhir export`)

The models of fhir.resources validate what comes in and, in the tests, what goes out; fhir.resources
8 ships R5 and R4B (4.3.0), whose Appointment and the resources read here are R4's for every element
used.
"""
