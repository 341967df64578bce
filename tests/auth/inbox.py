"""Reading account mails as a mail program would: parsed, each part decoded."""

import re
from email import message_from_bytes, policy
from email.message import EmailMessage


def mails(inbox, address: str) -> list[EmailMessage]:
    """Everything mailed to the address, oldest first."""
    return [
        message_from_bytes(m.content, policy=policy.default)
        for m in inbox.messages
        if m.rcpt_tos == [address]
    ]


def text(message: EmailMessage) -> str:
    return message.get_body(("plain",)).get_content()


def html(message: EmailMessage) -> str:
    return message.get_body(("html",)).get_content()


def links(message: EmailMessage) -> list[str]:
    """The addresses in the text part."""
    return re.findall(r"https?://\S+", text(message))


def link(inbox, address: str, path: str) -> str:
    """The path (and query) of the one link to ``path…`` in the one mail to the
    address."""
    [message] = mails(inbox, address)
    [url] = [u for u in links(message) if re.match(r"https?://[^/]+" + path, u)]
    return re.sub(r"^https?://[^/]+", "", url)
