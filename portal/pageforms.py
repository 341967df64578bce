"""Shared by the page views: the form that carries only the CSRF token, and how a
refused form action is told to the person who sent it."""

from flask import flash
from flask_wtf import FlaskForm

from portal.errors import PortalError
from portal.extensions import db


class CsrfForm(FlaskForm):
    """Renders the CSRF token into plain HTML forms (CSRFProtect checks every POST
    before the view runs)."""


def flash_refusal(error: PortalError) -> None:
    """A form's action was refused: nothing it did is kept. Who-or-what refusals
    (403, 404) answer as error pages; others return as a message on the page the
    sender goes back to.

    :raises PortalError: the same error, when it is a 403 or 404.
    """
    db.session.rollback()
    if error.status in (403, 404):
        raise error
    flash(error.message, "error")
