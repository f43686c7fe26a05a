"""The rules a secret given to vru-risk must meet (an audit key, the session secret), checked
where the settings are read and where ``vru audit-log rotate-key`` takes a new key.

A leaf module: it imports nothing from ``vru_risk``.
"""

from __future__ import annotations

#: how to make a secret (an audit key, the session secret), said where one is refused
GENERATE_SECRET = "generate one with `python -c 'import secrets; print(secrets.token_urlsafe(32))'`"


def check_audit_key(value: str) -> str:
    """An audit key as given (VRU_AUDIT_KEY, VRU_AUDIT_PREVIOUS_KEYS, ``vru audit-log
    rotate-key``), or ValueError saying what is wrong with it (never echoing it).

    The audit log is keyed with the exact bytes: a key read with a trailing newline is another
    key, and the rows it writes would not verify under the real one.

    >>> check_audit_key("k" * 20) == "k" * 20
    True
    >>> check_audit_key("k" * 20 + chr(10))
    Traceback (most recent call last):
    ...
    ValueError: has leading or trailing whitespace (a trailing newline from a file or `echo`?)...
    """
    if value != value.strip():
        raise ValueError(
            "has leading or trailing whitespace (a trailing newline from a file or `echo`?); "
            "the audit log is keyed with the exact bytes: remove it"
        )
    if len(value) < 16:
        raise ValueError(f"must be at least 16 characters; {GENERATE_SECRET}")
    if "," in value:
        raise ValueError(
            "must not contain a comma (VRU_AUDIT_PREVIOUS_KEYS lists retired keys separated by "
            f"commas); {GENERATE_SECRET}"
        )
    return value
