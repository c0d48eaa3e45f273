"""The local stack's credentials: its own (the stack's clients and the tests'), and one set per function.

They are fake, as in any moto setup, but each is known to the storage server, which checks every
request's signature with the secret of the access key it names: a request signed with an unknown key,
a wrong secret, or not signed at all is refused as S3 refuses it."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Credentials:
    access_key: str
    secret_key: str
    session_token: str | None = None

    def as_environment(self) -> dict[str, str]:
        env = {"AWS_ACCESS_KEY_ID": self.access_key, "AWS_SECRET_ACCESS_KEY": self.secret_key}
        if self.session_token:
            env["AWS_SESSION_TOKEN"] = self.session_token
        return env

    def as_client_arguments(self) -> dict[str, str]:
        return {
            "aws_access_key_id": self.access_key,
            "aws_secret_access_key": self.secret_key,
            "aws_session_token": self.session_token,
        }


# moto's customary fake credentials: the stack's own clients and the tests sign with these.
STACK_CREDENTIALS = Credentials("testing", "testing")


def function_credentials(logical_id: str) -> Credentials:
    """The temporary credentials a function's role would give it (an ASIA key with a session token)."""
    name = "".join(c for c in logical_id.upper() if c.isalnum())
    return Credentials(
        access_key=f"ASIALOCAL{name}"[:20].ljust(20, "X"),
        secret_key=f"local-secret-of-{logical_id}",
        session_token=f"local-session-of-{logical_id}",
    )


def known_credentials(function_ids) -> dict[str, Credentials]:
    """Access key -> credentials, for every key the storage server accepts."""
    every = [STACK_CREDENTIALS, *(function_credentials(logical_id) for logical_id in function_ids)]
    keys = [credentials.access_key for credentials in every]
    if len(set(keys)) != len(keys):
        raise ValueError(f"two functions would share an access key: {sorted(keys)}")
    return {credentials.access_key: credentials for credentials in every}
