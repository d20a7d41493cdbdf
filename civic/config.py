"""Settings, read once from the environment (and an optional .env file)."""

from __future__ import annotations

import secrets
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    # Default: SQLite in <var_dir>/civic.db.
    database_url: str = Field(default="", validation_alias=AliasChoices("DATABASE_URL", "CIVIC_DATABASE_URL"))
    secret_key: str = Field(default="", validation_alias=AliasChoices("SECRET_KEY", "CIVIC_SECRET_KEY"))
    var_dir: Path = Field(default=ROOT / "var", validation_alias=AliasChoices("CIVIC_VAR_DIR"))
    cookie_secure: bool = Field(default=False, validation_alias=AliasChoices("CIVIC_COOKIE_SECURE"))
    # Working days a village head has to acknowledge (triage) a new item.
    ack_working_days: int = Field(default=3, validation_alias=AliasChoices("CIVIC_ACK_WORKING_DAYS"))
    # Days of notice households get before a village meeting (Decree 59: at least 5).
    meeting_notice_days: int = Field(default=5, ge=0,
                                     validation_alias=AliasChoices("CIVIC_MEETING_NOTICE_DAYS"))
    # Days after a rejection in which the author may ask for a review.
    review_window_days: int = 30
    page_size: int = 20
    # Keep rendered public pages per process until the commune's audit chain moves (see web/pagecache.py).
    page_cache: bool = Field(default=True, validation_alias=AliasChoices("CIVIC_PAGE_CACHE"))
    # The most the kept pages (gzipped) may hold in each worker process, in MiB; the least recently served
    # go first. A commune's status page is 2-5 KB gzipped: 64 MiB keeps about 15,000 pages.
    page_cache_mb: int = Field(default=64, ge=1, validation_alias=AliasChoices("CIVIC_PAGE_CACHE_MB"))
    # Size of the worker thread pool for sync handlers.
    thread_pool: int = Field(default=8, ge=1, validation_alias=AliasChoices("CIVIC_THREADS"))
    # Posted forms a worker works on at once; 0: one on SQLite (it writes one transaction at a time), no
    # limit but the threads on PostgreSQL (civic/web/deps.py write_turns).
    writers: int = Field(default=0, ge=0, validation_alias=AliasChoices("CIVIC_WRITERS"))
    # Database connections a worker process keeps open, and how many more it may open for a burst (closed
    # after use). Requests that read the database wait, without blocking the server, for one of
    # db_pool + db_overflow - thread_pool places (civic/web/deps.py), so the pool never runs dry.
    db_pool: int = Field(default=20, ge=1, validation_alias=AliasChoices("CIVIC_DB_POOL"))
    db_overflow: int = Field(default=20, ge=0, validation_alias=AliasChoices("CIVIC_DB_OVERFLOW"))
    # Uploaded photos and documents (civic/media): where the files live (default: <var_dir>/media),
    # the largest file accepted, and whether the uploaded original is kept beside the processed sizes.
    media_dir: Path | None = Field(default=None, validation_alias=AliasChoices("CIVIC_MEDIA_DIR"))
    upload_max_bytes: int = Field(default=10 * 1024 * 1024,
                                  validation_alias=AliasChoices("CIVIC_UPLOAD_MAX_BYTES"))
    # The largest household register file (XLSX or CSV) accepted by /admin/register and `civic register
    # import`; a larger file is refused before it is read.
    register_max_bytes: int = Field(default=20 * 1024 * 1024, ge=1,
                                    validation_alias=AliasChoices("CIVIC_REGISTER_MAX_BYTES"))
    keep_originals: bool = Field(default=False, validation_alias=AliasChoices("CIVIC_KEEP_ORIGINALS"))
    # Photos decoded at once in the whole process: each may take up to rules.MAX_DECODED_BYTES of memory,
    # so many uploads at once wait their turn instead of exhausting it (OWASP ASVS 4.0 12.1.3).
    decode_workers: int = Field(default=2, ge=1, validation_alias=AliasChoices("CIVIC_DECODE_WORKERS"))
    # Sessions end on the server (ASVS 3.3.1, 3.3.2): a login lasts at most session_lifetime_hours, or
    # staff_session_hours for a village head, supervisor or admin (who see residents' contacts: ASVS level 2
    # asks for 12 hours), and ends after session_idle_minutes without a page opened.
    session_lifetime_hours: int = Field(default=720, ge=1,
                                        validation_alias=AliasChoices("CIVIC_SESSION_LIFETIME_HOURS"))
    staff_session_hours: int = Field(default=12, ge=1,
                                     validation_alias=AliasChoices("CIVIC_STAFF_SESSION_HOURS"))
    session_idle_minutes: int = Field(default=120, ge=1,
                                      validation_alias=AliasChoices("CIVIC_SESSION_IDLE_MINUTES"))
    # Login throttling (ASVS 2.2.1): failed logins allowed per phone number and per client address, and
    # registrations per address, within one window; over the limit the answer is 429 with Retry-After.
    throttle_window_minutes: int = Field(default=15, ge=1,
                                         validation_alias=AliasChoices("CIVIC_THROTTLE_WINDOW_MINUTES"))
    login_failures_per_phone: int = Field(default=5, ge=1,
                                          validation_alias=AliasChoices("CIVIC_LOGIN_FAILURES_PER_PHONE"))
    login_failures_per_address: int = Field(default=30, ge=1,
                                            validation_alias=AliasChoices("CIVIC_LOGIN_FAILURES_PER_ADDRESS"))
    registrations_per_address: int = Field(default=20, ge=1,
                                           validation_alias=AliasChoices("CIVIC_REGISTRATIONS_PER_ADDRESS"))
    # Household claim letters (civic/households): days a printed claim code stays valid, and the claim
    # codes an account or a client address may try in a minute before waiting (429 with Retry-After).
    claim_code_days: int = Field(default=90, ge=1, validation_alias=AliasChoices("CIVIC_CLAIM_CODE_DAYS"))
    claim_guesses_per_minute: int = Field(default=20, ge=1,
                                          validation_alias=AliasChoices("CIVIC_CLAIM_GUESSES_PER_MINUTE"))
    # One-time codes of the people page: an invitation to a role is good for invitation_days, a password
    # reset code given by the commune admin for reset_code_hours.
    invitation_days: int = Field(default=7, ge=1, le=90,
                                 validation_alias=AliasChoices("CIVIC_INVITATION_DAYS"))
    reset_code_hours: int = Field(default=24, ge=1, le=720,
                                  validation_alias=AliasChoices("CIVIC_RESET_CODE_HOURS"))
    # Threads that hash and verify passwords in each worker process: a flood of logins queues for them
    # instead of taking the threads that serve pages.
    password_threads: int = Field(default=1, ge=1, validation_alias=AliasChoices("CIVIC_PASSWORD_THREADS"))
    # Addresses of the reverse proxies whose X-Forwarded-For / X-Forwarded-Proto are believed, comma
    # separated ("127.0.0.1", "10.0.0.0/8", "*"); empty: the client address is the connection's.
    trusted_proxies: str = Field(default="", validation_alias=AliasChoices("CIVIC_TRUSTED_PROXIES"))
    # A name for this deploy, folded into the service worker's version (civic/web/offline.py) beside the
    # hash of the static files and templates: set it to force phones to take a new worker.
    release: str = Field(default="", validation_alias=AliasChoices("CIVIC_RELEASE"))
    # The Ed25519 private key that signs audit checkpoints (civic/audit/signing.py); default
    # <var_dir>/audit-ed25519.pem. Keep it on a volume: a new key makes partners' copies name another key.
    audit_key_file: Path | None = Field(default=None, validation_alias=AliasChoices("CIVIC_AUDIT_KEY_FILE"))
    # The site's public address, e.g. https://nhaoson.example.vn: every absolute link (og:url, QR codes,
    # feeds, the manage link) is built from it, never from the request's Host header (empty: development,
    # links follow the request). OWASP ASVS 5.0 V4 / 4.0 V14.5: do not trust the Host header.
    base_url: str = Field(default="", validation_alias=AliasChoices("CIVIC_BASE_URL"))
    # Host names this site answers to, comma-separated ("*" for any). Default: the base URL's host when it
    # is set, else any. Other hosts get 400 (Host header injection, cache poisoning).
    allowed_hosts: str = Field(default="", validation_alias=AliasChoices("CIVIC_ALLOWED_HOSTS"))

    # The map (submission form, /map): the tile server's URL template ({z}/{x}/{y}, optionally {s} and
    # {r}) and the attribution shown on the map. The tile server's origin is added to the pages' img-src.
    map_tiles: str = Field(default="https://tile.openstreetmap.org/{z}/{x}/{y}.png",
                           validation_alias=AliasChoices("CIVIC_MAP_TILES"))
    map_attribution: str = Field(default="© OpenStreetMap contributors",
                                 validation_alias=AliasChoices("CIVIC_MAP_ATTRIBUTION"))
    map_attribution_url: str = Field(default="https://www.openstreetmap.org/copyright",
                                     validation_alias=AliasChoices("CIVIC_MAP_ATTRIBUTION_URL"))
    # The site's name in the page header and title; empty: "Góp ý <commune name>" ("Góp ý xã Nhạo Sơn").
    site_name: str = Field(default="", max_length=60, validation_alias=AliasChoices("CIVIC_SITE_NAME"))
    # What the public sees of an item not yet triaged: "title" (its title and village only, until the village
    # head accepts it; its author and staff see it all) or "full".
    untriaged_public_detail: str = Field(default="title", pattern="^(title|full)$",
                                         validation_alias=AliasChoices("CIVIC_UNTRIAGED_PUBLIC_DETAIL"))

    # Notifications (civic/notify): the worker's pace and tries, and each channel's provider. A channel
    # with no settings is off; messages for it are recorded and shown as "not sent: no channel".
    notify_max_attempts: int = Field(default=6, ge=1, le=20,
                                     validation_alias=AliasChoices("CIVIC_NOTIFY_MAX_ATTEMPTS"))
    notify_batch: int = Field(default=100, ge=1, le=5000, validation_alias=AliasChoices("CIVIC_NOTIFY_BATCH"))
    notify_poll_seconds: float = Field(default=2.0, gt=0,
                                       validation_alias=AliasChoices("CIVIC_NOTIFY_POLL_SECONDS"))
    notify_timeout_seconds: float = Field(default=10.0, gt=0,
                                          validation_alias=AliasChoices("CIVIC_NOTIFY_TIMEOUT_SECONDS"))
    notify_keep_days: int = Field(default=30, ge=1, validation_alias=AliasChoices("CIVIC_NOTIFY_KEEP_DAYS"))
    # A claimed message whose worker died is taken again after this many seconds.
    notify_lease_seconds: int = Field(default=300, ge=5,
                                      validation_alias=AliasChoices("CIVIC_NOTIFY_LEASE_SECONDS"))
    smtp_host: str = Field(default="", validation_alias=AliasChoices("CIVIC_SMTP_HOST"))
    smtp_port: int = Field(default=587, validation_alias=AliasChoices("CIVIC_SMTP_PORT"))
    smtp_username: str = Field(default="", validation_alias=AliasChoices("CIVIC_SMTP_USERNAME"))
    smtp_password: str = Field(default="", validation_alias=AliasChoices("CIVIC_SMTP_PASSWORD"))
    smtp_sender: str = Field(default="civic@localhost", validation_alias=AliasChoices("CIVIC_SMTP_SENDER"))
    smtp_sender_name: str = Field(default="civic", validation_alias=AliasChoices("CIVIC_SMTP_SENDER_NAME"))
    smtp_security: str = Field(default="starttls", pattern="^(starttls|tls|none)$",
                               validation_alias=AliasChoices("CIVIC_SMTP_SECURITY"))
    smtp_ca_file: str = Field(default="", validation_alias=AliasChoices("CIVIC_SMTP_CA_FILE"))
    sms_gateway_url: str = Field(default="", validation_alias=AliasChoices("CIVIC_SMS_GATEWAY_URL"))
    sms_gateway_username: str = Field(default="sms",
                                      validation_alias=AliasChoices("CIVIC_SMS_GATEWAY_USERNAME"))
    sms_gateway_password: str = Field(default="", validation_alias=AliasChoices("CIVIC_SMS_GATEWAY_PASSWORD"))
    # The secret path part of the webhook the SMS gateway app posts received messages to ("TU CHOI").
    sms_webhook_secret: str = Field(default="", validation_alias=AliasChoices("CIVIC_SMS_WEBHOOK_SECRET"))
    sms_brandname_url: str = Field(default="", validation_alias=AliasChoices("CIVIC_SMS_BRANDNAME_URL"))
    sms_brandname_api_key: str = Field(default="",
                                       validation_alias=AliasChoices("CIVIC_SMS_BRANDNAME_API_KEY"))
    sms_brandname_secret: str = Field(default="", validation_alias=AliasChoices("CIVIC_SMS_BRANDNAME_SECRET"))
    sms_brandname: str = Field(default="", validation_alias=AliasChoices("CIVIC_SMS_BRANDNAME"))
    vapid_private_key: str = Field(default="", validation_alias=AliasChoices("CIVIC_VAPID_PRIVATE_KEY"))
    vapid_public_key: str = Field(default="", validation_alias=AliasChoices("CIVIC_VAPID_PUBLIC_KEY"))
    vapid_subject: str = Field(default="", validation_alias=AliasChoices("CIVIC_VAPID_SUBJECT"))
    # The Zalo share link offered on the receipt page where the phone has no Web Share; {url} is the address.
    zalo_share_url: str = Field(default="https://zalo.me/share?url={url}",
                                validation_alias=AliasChoices("CIVIC_ZALO_SHARE_URL"))
    zalo_app_id: str = Field(default="", validation_alias=AliasChoices("CIVIC_ZALO_APP_ID"))
    zalo_secret_key: str = Field(default="", validation_alias=AliasChoices("CIVIC_ZALO_SECRET_KEY"))
    zalo_refresh_token: str = Field(default="", validation_alias=AliasChoices("CIVIC_ZALO_REFRESH_TOKEN"))
    zalo_template_id: str = Field(default="", validation_alias=AliasChoices("CIVIC_ZALO_TEMPLATE_ID"))
    zalo_api_url: str = Field(default="https://business.openapi.zalo.me",
                              validation_alias=AliasChoices("CIVIC_ZALO_API_URL"))
    zalo_oauth_url: str = Field(default="https://oauth.zaloapp.com",
                                validation_alias=AliasChoices("CIVIC_ZALO_OAUTH_URL"))

    @field_validator("base_url")
    @classmethod
    def _absolute_base(cls, value: str) -> str:
        """A base URL is an absolute http(s) address of a host (a typo must not become every link)."""
        value = value.strip()
        if value:
            parts = urlsplit(value)
            if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
                raise ValueError("CIVIC_BASE_URL must look like https://nhaoson.example.vn")
        return value

    @field_validator("map_tiles", "map_attribution_url")
    @classmethod
    def _map_address(cls, value: str) -> str:
        """A tile template or attribution link is an absolute http(s) address (or empty: no map tiles)."""
        value = value.strip()
        if value:
            parts = urlsplit(value.replace("{", "").replace("}", ""))
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ValueError("CIVIC_MAP_TILES and CIVIC_MAP_ATTRIBUTION_URL must be http(s) addresses")
        return value

    @property
    def map_tiles_origin(self) -> str:
        """Where the map's tiles come from (scheme://host[:port]) for the pages' img-src; "" without tiles.
        A {s} subdomain in the template allows the host's subdomains."""
        if not self.map_tiles:
            return ""
        parts = urlsplit(self.map_tiles.replace("{s}.", "SUB."))
        host = parts.netloc.replace("SUB.", "*.")
        return f"{parts.scheme}://{host}"

    @property
    def public_base(self) -> str:
        """The base URL without a trailing slash ("" when not set)."""
        return self.base_url.strip().rstrip("/")

    def host_list(self) -> list[str]:
        """The hosts TrustedHostMiddleware accepts (["*"]: any)."""
        hosts = [h.strip() for h in self.allowed_hosts.split(",") if h.strip()]
        if hosts:
            return hosts
        host = urlsplit(self.public_base).hostname if self.public_base else None
        return [host] if host else ["*"]


@lru_cache
def get_settings() -> Settings:
    settings = Settings()
    if not settings.database_url:
        settings.database_url = f"sqlite:///{settings.var_dir / 'civic.db'}"
    if not settings.secret_key:
        settings.secret_key = _local_secret(settings.var_dir)
    return settings


def _local_secret(var_dir: Path) -> str:
    """A development secret kept under var/, so sessions survive restarts of `make run`."""
    var_dir.mkdir(parents=True, exist_ok=True)
    path = var_dir / "secret.key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()
