"""What the SMS webhooks answer: TwiML for the replies, or a refusal in plain text.

- `render`: `MessagingResponse`, one `<Message>` per reply (options as numbered lines), served as
  application/xml. An empty reply is an empty `<Response/>` (`EMPTY`), never plain text.
- `twiml_texts`: the `<Message>` bodies of a TwiML answer we rendered, read back (a late reply
  stored on its receipt, sent by the stranded-reply job).
- `Refusal`: a request the webhook refuses, with its status and a reason for Twilio's debugger;
  it stores nothing.
"""

from __future__ import annotations

from xml.etree import ElementTree

from twilio.twiml.messaging_response import MessagingResponse

from bot.messages import OutboundMessage
from scheduler.errors import ChannelError

TWIML = "application/xml"
EMPTY = str(MessagingResponse())


class Refusal(ChannelError):
    """A request the webhook refuses; `status` and a reason for Twilio's debugger."""

    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status = status


def render(messages: list[OutboundMessage]) -> str:
    """TwiML for the replies: one <Message> each, options as numbered lines."""
    response = MessagingResponse()
    for message in messages:
        response.message(message.as_text())
    return str(response)


def twiml_texts(twiml: str) -> list[str]:
    """The <Message> bodies of a TwiML answer we rendered."""
    return [element.text or "" for element in ElementTree.fromstring(twiml).iter("Message")]
