"""The pure rules of notifications, with the expected values written out by hand."""

from datetime import UTC, datetime, timedelta

from civic.notify import rules

# 14:00 UTC is 21:00 in Vietnam (UTC+7).
VN_2059 = datetime(2026, 6, 10, 13, 59, tzinfo=UTC)
VN_2100 = datetime(2026, 6, 10, 14, 0, tzinfo=UTC)
VN_0659 = datetime(2026, 6, 10, 23, 59, tzinfo=UTC)
VN_0700_NEXT = datetime(2026, 6, 11, 0, 0, tzinfo=UTC)


def test_no_sms_or_zalo_between_21_and_7_vietnam_time():
    assert rules.deliver_after(VN_2059, "sms") == VN_2059
    assert rules.deliver_after(VN_2100, "sms") == VN_0700_NEXT
    assert rules.deliver_after(VN_0659, "zalo") == VN_0700_NEXT
    assert rules.deliver_after(VN_0700_NEXT, "sms") == VN_0700_NEXT
    # just after midnight the wait ends the same morning
    after_midnight = datetime(2026, 6, 10, 18, 30, tzinfo=UTC)  # 01:30 on 11 June in Vietnam
    assert rules.deliver_after(after_midnight, "sms") == VN_0700_NEXT


def test_email_and_push_are_not_held_by_the_night():
    assert rules.deliver_after(VN_2100, "email") == VN_2100
    assert rules.deliver_after(VN_2100, "push") == VN_2100


def test_a_meeting_change_within_24_hours_goes_even_at_night():
    meeting = VN_2100 + timedelta(hours=20)
    assert rules.is_urgent("meeting_moved", meeting, VN_2100)
    assert rules.is_urgent("meeting_cancelled", VN_2100 + timedelta(hours=24), VN_2100)
    assert not rules.is_urgent("meeting_moved", VN_2100 + timedelta(hours=25), VN_2100)
    assert not rules.is_urgent("meeting_scheduled", meeting, VN_2100)  # a new meeting has 5 days' notice
    assert rules.deliver_after(VN_2100, "sms", urgent=True) == VN_2100


def test_a_recipients_own_quiet_hours_hold_every_channel():
    noon = datetime(2026, 6, 10, 5, 0, tzinfo=UTC)  # 12:00 in Vietnam
    assert rules.deliver_after(noon, "email", quiet_from=12, quiet_to=14) == datetime(2026, 6, 10, 7, 0,
                                                                                       tzinfo=UTC)
    assert rules.deliver_after(noon, "email", quiet_from=0, quiet_to=0) == noon
    # their quiet hours end at 22:00, inside the night: an SMS then waits for 07:00
    evening = datetime(2026, 6, 10, 13, 0, tzinfo=UTC)  # 20:00
    assert rules.deliver_after(evening, "sms", quiet_from=20, quiet_to=22) == VN_0700_NEXT


def test_backoff_doubles_up_to_six_hours_and_honours_retry_after():
    assert [rules.backoff(n).total_seconds() for n in (1, 2, 3, 4)] == [30, 60, 120, 240]
    assert rules.backoff(20).total_seconds() == 6 * 3600
    assert rules.backoff(1, retry_after=90).total_seconds() == 90
    assert rules.backoff(3, retry_after=5).total_seconds() == 120  # never sooner than the backoff
    assert rules.parse_retry_after("120", VN_2100) == 120
    assert rules.parse_retry_after("Wed, 10 Jun 2026 14:01:00 GMT", VN_2100) == 60
    assert rules.parse_retry_after("soon", VN_2100) is None


def test_one_idempotency_key_per_event_recipient_and_channel():
    key = rules.idempotency_key(7, "u:3", "sms", "stage_changed")
    assert key == rules.idempotency_key(7, "u:3", "sms", "stage_changed")
    assert len({key, rules.idempotency_key(8, "u:3", "sms", "stage_changed"),
                rules.idempotency_key(7, "u:4", "sms", "stage_changed"),
                rules.idempotency_key(7, "u:3", "email", "stage_changed")}) == 4


def test_stop_replies():
    for text in ("TU CHOI", "tu choi", "Từ chối", "TUCHOI", "stop", " Tu-choi "):
        assert rules.is_stop_reply(text), text
    for text in ("ok", "cam on", "TU CHOI NHAN TIN DAI"):
        assert not rules.is_stop_reply(text), text


def test_an_account_hears_once_on_its_first_usable_channel():
    assert rules.account_channels("email,sms", has_email=True, configured={"email", "sms"}) == ["email"]
    assert rules.account_channels("email,sms", has_email=False, configured={"email", "sms"}) == ["sms"]
    assert rules.account_channels("email,sms", has_email=True, configured={"sms"}) == ["sms"]
    assert rules.account_channels("email", has_email=True, configured=set()) == ["email"]  # shown as not sent
    assert rules.account_channels("", has_email=True, configured={"email"}) == []
