"""Account tests: a real SMTP server on loopback, and the app set to mail through it."""

import pytest

from portal.extensions import mail
from tests.mailbox import inbox  # noqa: F401


@pytest.fixture
def mail_on(app, inbox):  # noqa: F811 (the fixture imported above)
    """Mail configured: sign-ups and resets go through the inbox."""
    app.config.update(
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=inbox.port,
        MAIL_DEFAULT_SENDER="portal@example.org",
        PUBLIC_URL="https://portal.example.org",
    )
    mail.init_app(app)  # Flask-Mail reads its settings when bound
    return inbox
