"""One-time links sent by e-mail: invitations (password resets use Django's own generator)."""

from django.conf import settings
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.utils.crypto import constant_time_compare
from django.utils.http import base36_to_int


class InviteTokenGenerator(PasswordResetTokenGenerator):
    """Like a password-reset token, with its own salt and lifetime (INVITE_TIMEOUT_DAYS).

    The token hashes the password state, so it stops working once the invitation is accepted.
    """

    key_salt = "accounts.tokens.InviteTokenGenerator"

    def check_token(self, user, token):
        if not (user and token):
            return False
        try:
            ts_b36, _hash = token.split("-")
            ts = base36_to_int(ts_b36)
        except ValueError:
            return False
        if self._num_seconds(self._now()) - ts > settings.INVITE_TIMEOUT:
            return False
        return any(
            constant_time_compare(self._make_token_with_timestamp(user, ts, secret), token)
            for secret in [self.secret, *self.secret_fallbacks]
        )


invite_token_generator = InviteTokenGenerator()
