"""bot/model/tool_specs.py: the tools as the model sees them, and the check of what it sends back.

The declarations are sent to Bedrock as the Converse API's `toolConfig` (short: no patterns, no
ban on extra arguments) and kept here in full for `check_arguments`, which refuses anything
that does not fit with a sentence the model can act on. No call leaves the machine: botocore's
own model of the service says what Bedrock accepts.
"""

from __future__ import annotations

import dataclasses
import json
import re

import botocore.session
import pytest
from botocore.validate import ParamValidator

from bot.model.tool_specs import (
    HANDOFF_REASONS,
    PARTS_OF_DAY,
    TOOL_NAMES,
    check_arguments,
    tool_config,
    tool_schemas,
)
from tests.bedrock_support import MODEL, answer

REQUEST = {"modelId": MODEL, "messages": [{"role": "user", "content": [{"text": "hi"}]}]}
# What a property may say: the subset of JSON Schema the declarations use.
SENT_KEYWORDS = {"type", "description", "enum"}
CHECKED_KEYWORDS = SENT_KEYWORDS | {"pattern"}


def converse_input(member: str):
    """A member of the Converse request as botocore's model of bedrock-runtime declares it."""
    service = botocore.session.get_session().get_service_model("bedrock-runtime")
    return service.operation_model("Converse").input_shape.members[member]


def sent_specs(clinic) -> dict[str, dict]:
    return {t["toolSpec"]["name"]: t["toolSpec"] for t in tool_config(clinic)["tools"]}


def full_schema(clinic, tool: str) -> dict:
    return tool_schemas(clinic)[tool][1]


# --- what Bedrock is sent -----------------------------------------------------------------------


def test_the_seven_tools_are_declared_with_schemas(demo_clinic, model):
    config = tool_config(demo_clinic)
    assert [t["toolSpec"]["name"] for t in config["tools"]] == list(TOOL_NAMES)
    find = tool_schemas(demo_clinic)["find_slots"][1]
    assert find["properties"]["appointment_type"]["enum"][0] == "checkup"
    assert find["additionalProperties"] is False and find["required"] == ["appointment_type"]
    # botocore accepts the configuration as the Converse API's toolConfig.
    model.script(answer("ok"))
    model.client.converse(**REQUEST, toolConfig=config)
    json.dumps(config)


def test_the_tool_config_is_valid_for_the_converse_api(demo_clinic):
    report = ParamValidator().validate(tool_config(demo_clinic), converse_input("toolConfig"))
    assert not report.has_errors(), report.generate_report()


def test_every_tool_name_and_description_fits_bedrocks_tool_spec(demo_clinic):
    # botocore checks neither the pattern nor the maximum length: the service would refuse them.
    name = converse_input("toolConfig").members["tools"].member.members["toolSpec"].members["name"]
    pattern, longest = name.metadata["pattern"], name.metadata["max"]
    for spec in sent_specs(demo_clinic).values():
        assert re.fullmatch(pattern, spec["name"]) and len(spec["name"]) <= longest
        assert spec["description"].strip()


@pytest.mark.parametrize("tool", TOOL_NAMES)
def test_each_sent_schema_is_a_json_schema_of_string_arguments(demo_clinic, tool):
    sent = sent_specs(demo_clinic)[tool]["inputSchema"]["json"]
    assert json.loads(json.dumps(sent)) == sent
    assert sent["type"] == "object" and isinstance(sent["properties"], dict)
    for rule in sent["properties"].values():
        assert rule["type"] == "string" and set(rule) <= SENT_KEYWORDS
        if "enum" in rule:
            assert rule["enum"] and len(set(rule["enum"])) == len(rule["enum"])
            assert all(isinstance(value, str) for value in rule["enum"])
    if "required" in sent:
        assert sent["required"] and set(sent["required"]) <= set(sent["properties"])


def test_what_costs_tokens_on_every_call_is_checked_here_instead(demo_clinic):
    for tool, (_, full) in tool_schemas(demo_clinic).items():
        sent = sent_specs(demo_clinic)[tool]["inputSchema"]["json"]
        assert "additionalProperties" not in sent and full["additionalProperties"] is False
        assert not any("pattern" in rule for rule in sent["properties"].values())
        assert sent["properties"] == {
            name: {k: v for k, v in rule.items() if k != "pattern"}
            for name, rule in full["properties"].items()
        }


@pytest.mark.parametrize("tool", TOOL_NAMES)
def test_each_checked_schema_has_anchored_patterns_and_declared_required(demo_clinic, tool):
    full = full_schema(demo_clinic, tool)
    assert full["type"] == "object" and set(full["required"]) <= set(full["properties"])
    for rule in full["properties"].values():
        assert rule["type"] == "string" and set(rule) <= CHECKED_KEYWORDS
        if "pattern" in rule:
            re.compile(rule["pattern"])
            assert rule["pattern"].startswith("^") and rule["pattern"].endswith("$")


@pytest.mark.parametrize(
    "tool, required",
    [
        ("find_slots", ["appointment_type"]),
        ("book_appointment", ["slot_id"]),
        ("cancel_appointment", ["appointment_id"]),
        ("reschedule_appointment", ["appointment_id", "slot_id"]),
        ("list_appointments", []),
        ("join_waitlist", ["appointment_type"]),
        ("hand_off_to_staff", ["reason"]),
    ],
)
def test_each_tool_requires_what_it_cannot_act_without(demo_clinic, tool, required):
    assert full_schema(demo_clinic, tool)["required"] == required
    # An empty list is not sent: the tool simply has no required argument.
    assert sent_specs(demo_clinic)[tool]["inputSchema"]["json"].get("required", []) == required


# --- the clinic's own types and providers -------------------------------------------------------


def test_the_types_and_providers_offered_are_the_clinics_own(demo_clinic):
    clinic = dataclasses.replace(
        demo_clinic,
        appointment_types=demo_clinic.appointment_types[::-1][:2],
        providers=demo_clinic.providers[1:3],
    )
    types = [t.key for t in clinic.appointment_types]
    providers = [p.key for p in clinic.providers]
    assert types == ["abdominal-ultrasound", "cardiac-echo"]
    for tool in ("find_slots", "join_waitlist"):
        for declared in (
            full_schema(clinic, tool)["properties"],
            sent_specs(clinic)[tool]["inputSchema"]["json"]["properties"],
        ):
            assert declared["appointment_type"]["enum"] == types
            assert declared["provider"]["enum"] == providers


def test_a_type_the_clinic_does_not_offer_is_refused_naming_those_it_does(demo_clinic):
    clinic = dataclasses.replace(demo_clinic, appointment_types=demo_clinic.appointment_types[:2])
    assert check_arguments(
        full_schema(clinic, "find_slots"), {"appointment_type": "vaccination"}
    ) == ("appointment_type must be one of: checkup, sick-visit")
    assert (
        check_arguments(full_schema(demo_clinic, "find_slots"), {"appointment_type": "vaccination"})
        is None
    )


# --- check_arguments ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "arguments, problem",
    [
        ({"slot_id": "slot-1"}, None),
        ("slot-1", "arguments must be a JSON object"),
        ({}, "missing required argument: slot_id"),
        ({"slot_id": 1}, "slot_id must be a string"),
        ({"slot_id": "42"}, "slot_id has the wrong format"),
        ({"slot_id": "slot-1", "patient": "x"}, "unexpected argument(s): patient"),
    ],
)
def test_arguments_are_checked_against_the_schema(demo_clinic, arguments, problem):
    schema = tool_schemas(demo_clinic)["book_appointment"][1]
    assert check_arguments(schema, arguments) == problem


@pytest.mark.parametrize(
    "tool, arguments",
    [
        ("find_slots", {"appointment_type": "checkup"}),
        (
            "find_slots",
            {
                "appointment_type": "vaccination",
                "date": "2026-03-05",
                "end_date": "2026-03-12",
                "provider": "moreau",
                "part_of_day": "morning",
                "time": "09:30",
            },
        ),
        ("book_appointment", {"slot_id": "slot-123456"}),
        ("cancel_appointment", {"appointment_id": "appt-1"}),
        ("reschedule_appointment", {"appointment_id": "appt-2", "slot_id": "slot-3"}),
        ("list_appointments", {}),
        (
            "join_waitlist",
            {
                "appointment_type": "checkup",
                "provider": "okafor",
                "earliest_date": "2026-03-05",
                "latest_date": "2026-03-20",
            },
        ),
        ("hand_off_to_staff", {"reason": "billing", "urgency": "today"}),
    ],
)
def test_arguments_that_fit_are_accepted(demo_clinic, tool, arguments):
    assert check_arguments(full_schema(demo_clinic, tool), arguments) is None


@pytest.mark.parametrize(
    "tool, arguments, problem",
    [
        # not an object at all
        ("list_appointments", None, "arguments must be a JSON object"),
        ("find_slots", ["checkup"], "arguments must be a JSON object"),
        # wrong types: every argument is a string, whatever JSON allows
        ("find_slots", {"appointment_type": 3}, "appointment_type must be a string"),
        (
            "find_slots",
            {"appointment_type": "checkup", "date": ["2026-03-05"]},
            "date must be a string",
        ),
        ("cancel_appointment", {"appointment_id": None}, "appointment_id must be a string"),
        ("hand_off_to_staff", {"reason": {"why": "billing"}}, "reason must be a string"),
        # unknown keys, named in order, before anything else is looked at
        ("list_appointments", {"patient_id": "7"}, "unexpected argument(s): patient_id"),
        (
            "book_appointment",
            {"slot_id": 1, "phone": "x", "name": "y"},
            "unexpected argument(s): name, phone",
        ),
        # required ones
        (
            "reschedule_appointment",
            {"slot_id": "slot-1"},
            "missing required argument: appointment_id",
        ),
        ("hand_off_to_staff", {"urgency": "today"}, "missing required argument: reason"),
        # values outside what is declared
        (
            "find_slots",
            {"appointment_type": "surgery"},
            "appointment_type must be one of: checkup, sick-visit, vaccination, cardiac-echo, "
            "abdominal-ultrasound",
        ),
        (
            "find_slots",
            {"appointment_type": "checkup", "provider": "house"},
            "provider must be one of: okafor, lindqvist, moreau, tanaka",
        ),
        (
            "find_slots",
            {"appointment_type": "checkup", "part_of_day": "night"},
            "part_of_day must be one of: " + ", ".join(PARTS_OF_DAY),
        ),
        (
            "hand_off_to_staff",
            {"reason": "gossip"},
            "reason must be one of: " + ", ".join(HANDOFF_REASONS),
        ),
        (
            "hand_off_to_staff",
            {"reason": "billing", "urgency": "asap"},
            "urgency must be one of: routine, today",
        ),
        # formats: ids issued to the conversation, ISO dates, 24-hour times
        ("book_appointment", {"slot_id": "slot-1234567"}, "slot_id has the wrong format"),
        ("book_appointment", {"slot_id": "appt-1"}, "slot_id has the wrong format"),
        ("cancel_appointment", {"appointment_id": "41"}, "appointment_id has the wrong format"),
        (
            "find_slots",
            {"appointment_type": "checkup", "date": "5 March"},
            "date has the wrong format",
        ),
        (
            "find_slots",
            {"appointment_type": "checkup", "time": "9:30"},
            "time has the wrong format",
        ),
        (
            "join_waitlist",
            {"appointment_type": "checkup", "latest_date": "2026-3-20"},
            "latest_date has the wrong format",
        ),
    ],
)
def test_arguments_that_do_not_fit_are_refused_with_a_sentence_the_model_can_act_on(
    demo_clinic, tool, arguments, problem
):
    assert check_arguments(full_schema(demo_clinic, tool), arguments) == problem


def test_a_flood_of_unknown_arguments_is_named_briefly(demo_clinic):
    flood = {f"field_{n:02}": "x" for n in range(40)}
    problem = check_arguments(full_schema(demo_clinic, "list_appointments"), flood)
    assert problem.startswith("unexpected argument(s): field_00, field_01")
    assert len(problem) == len("unexpected argument(s): ") + 80
