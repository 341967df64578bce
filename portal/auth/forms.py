"""Account forms: field presence and length only; the rules live in auth.services."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Email, InputRequired, Length

# Lengths are enforced here too so an oversized field is refused before any hashing.
_required = DataRequired(message=_l("This field is required."))


def _at_most(n: int) -> Length:
    return Length(max=n, message=_l("Use at most %(n)s characters.", n=f"{n:,}"))


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def _email(check_format: bool = False, label=None) -> EmailField:
    validators = [_required, _at_most(254)]
    if check_format:  # sign-in must not hint at anything, so only registration checks
        validators.append(
            Email(message=_l("Enter a valid email address, like name@example.org."))
        )
    # Phones' keyboards add a space after a suggested address: it is not a mistake.
    return EmailField(label or _l("Email"), validators=validators, filters=[_strip])


def _password(label, new: bool = False) -> PasswordField:
    length = (
        Length(min=10, max=1024, message=_l("Use between 10 and 1,024 characters."))
        if new
        else _at_most(1024)
    )
    return PasswordField(label, validators=[_required, length])


def _text(label, max_length: int) -> StringField:
    return StringField(label, validators=[_required, _at_most(max_length)])


def _home_area() -> SelectField:
    return SelectField(
        _l("Your neighborhood"),
        validators=[InputRequired(message=_l("Choose your neighborhood."))],
    )


class RegisterForm(FlaskForm):
    """Registration without mail (the demo): the account is made at once."""

    display_name = _text(_l("Your name, as neighbors will see it"), 80)
    email = _email(check_format=True)
    password = _password(_l("Password (at least 10 characters)"), new=True)
    home_area = _home_area()


class SignupForm(FlaskForm):
    """Registration when addresses are confirmed by email: the password is chosen
    behind the emailed link."""

    display_name = _text(_l("Your name, as neighbors will see it"), 80)
    email = _email(check_format=True)
    home_area = _home_area()


class ChoosePasswordForm(FlaskForm):
    password = _password(_l("Password (at least 10 characters)"), new=True)


class ForgotPasswordForm(FlaskForm):
    email = _email(check_format=True)


class LoginForm(FlaskForm):
    email = _email()
    password = _password(_l("Password"))


class ChangePasswordForm(FlaskForm):
    current_password = _password(_l("Current password"))
    new_password = _password(_l("New password (at least 10 characters)"), new=True)


class ChangeEmailForm(FlaskForm):
    new_email = _email(check_format=True, label=_l("New email address"))
    current_password = _password(_l("Current password"))

    def __init__(self, *args, **kwargs):
        # Its fields share the profile page with the password form's: prefixed
        # ("email-current_password"), their ids and names stay apart.
        kwargs.setdefault("prefix", "email")
        super().__init__(*args, **kwargs)


class TokenForm(FlaskForm):
    name = _text(_l("What the token is for"), 80)


class ConfirmForm(FlaskForm):
    """A form with nothing but its CSRF token, for buttons that change state."""
