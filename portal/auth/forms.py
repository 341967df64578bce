"""Account forms: field presence and length only; the rules live in auth.services."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Email, InputRequired, Length

# Lengths are enforced here too so an oversized field is refused before any hashing.
_required = DataRequired(message=_l("This field is required."))


class RegisterForm(FlaskForm):
    display_name = StringField(
        _l("Your name, as neighbors will see it"),
        validators=[
            _required,
            Length(max=80, message=_l("Use at most 80 characters.")),
        ],
    )
    email = EmailField(
        _l("Email"),
        validators=[
            _required,
            Length(max=254, message=_l("Use at most 254 characters.")),
            Email(message=_l("Enter a valid email address, like name@example.org.")),
        ],
    )
    password = PasswordField(
        _l("Password (at least 10 characters)"),
        validators=[
            _required,
            Length(
                min=10, max=1024, message=_l("Use between 10 and 1,024 characters.")
            ),
        ],
    )
    home_area = SelectField(
        _l("Your neighborhood"),
        validators=[InputRequired(message=_l("Choose your neighborhood."))],
        validate_choice=True,
    )


class LoginForm(FlaskForm):
    email = EmailField(
        _l("Email"),
        validators=[
            _required,
            Length(max=254, message=_l("Use at most 254 characters.")),
        ],
    )
    password = PasswordField(
        _l("Password"),
        validators=[
            _required,
            Length(max=1024, message=_l("Use at most 1,024 characters.")),
        ],
    )


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField(
        _l("Current password"),
        validators=[
            _required,
            Length(max=1024, message=_l("Use at most 1,024 characters.")),
        ],
    )
    new_password = PasswordField(
        _l("New password (at least 10 characters)"),
        validators=[
            _required,
            Length(
                min=10, max=1024, message=_l("Use between 10 and 1,024 characters.")
            ),
        ],
    )


class TokenForm(FlaskForm):
    name = StringField(
        _l("What the token is for"),
        validators=[
            _required,
            Length(max=80, message=_l("Use at most 80 characters.")),
        ],
    )


class ConfirmForm(FlaskForm):
    """A form with nothing but its CSRF token, for buttons that change state."""
