"""Pure account rules. What a phone number, a password or a name may be is read by the forms in
civic.accounts.schemas (with the shared field types of civic.core.inputs)."""

from __future__ import annotations


def mask_phone(phone: str) -> str:
    """0912345678 -> 0912•••678, for staff lists where the full number is not needed."""
    return phone[:4] + "•••" + phone[-3:] if len(phone) >= 7 else "•••"
