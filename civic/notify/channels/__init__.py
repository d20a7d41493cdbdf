"""The ways a message leaves: each channel is one small class with `send(message)`.

`send` returns when the provider took the message; it raises `Temporary` (time-out, 5xx, 429: try again
later, perhaps after `retry_after` seconds) or `Permanent` (the provider refused this message for good: an
invalid number or address). `available(settings)` builds the channels the settings configure."""

from __future__ import annotations

from civic.config import Settings
from civic.notify.channels.base import Channel, Message, Permanent, Temporary


def available(settings: Settings) -> dict[str, Channel]:
    from civic.notify.channels import email, sms, webpush, zalo

    found: dict[str, Channel] = {}
    if settings.smtp_host:
        found["email"] = email.SmtpChannel.from_settings(settings)
    if settings.sms_gateway_url:
        found["sms"] = sms.AndroidGatewayChannel.from_settings(settings)
    elif settings.sms_brandname_url:
        found["sms"] = sms.BrandnameChannel.from_settings(settings)
    if settings.vapid_private_key:
        found["push"] = webpush.WebPushChannel.from_settings(settings)
    if settings.zalo_app_id and settings.zalo_refresh_token:
        found["zalo"] = zalo.ZaloZnsChannel.from_settings(settings)
    return found


__all__ = ["Channel", "Message", "Permanent", "Temporary", "available"]
