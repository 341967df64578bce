"""A real SMTP server on loopback (aiosmtpd), keeping what it receives."""

import re
import socket

import pytest


class Inbox:
    """What the SMTP server received, oldest first."""

    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(envelope)
        return "250 OK"

    def to(self, address: str) -> list[str]:
        return [m.content.decode() for m in self.messages if m.rcpt_tos == [address]]

    def link(self, address: str, path: str) -> str:
        """The path (and query) of the one link to ``path…`` mailed to the address."""
        [body] = self.to(address)
        [url] = re.findall(r"https?://[^/\s]+(" + re.escape(path) + r"\S*)", body)
        return url


def free_port() -> int:
    with socket.socket() as probe:  # aiosmtpd needs its port named up front
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def inbox():
    from aiosmtpd.controller import Controller

    keeper = Inbox()
    controller = Controller(keeper, hostname="127.0.0.1", port=free_port())
    controller.start()
    keeper.port = controller.port
    yield keeper
    controller.stop()
