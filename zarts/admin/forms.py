"""Admin forms for connections, onboarding, mappings, manual updates and tasks."""
import json

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DecimalField,
    Form,
    FormField,
    HiddenField,
    IntegerField,
    PasswordField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, ValidationError

from ..services import json_object
from ..services.health.rules import DEFAULT_THRESHOLDS
from ..services.health.rules import LIMITS as THRESHOLD_LIMITS
from ..services.mapping.rules import OBJECT_TYPES, PERIODS
from ..services.setup.connections import LIMITS, MAX_OVERLAP_HOURS

_, MAX_CADENCE_SECONDS, _ = LIMITS["expected_cadence_seconds"]


def _threshold(key, label, default=None):
    low, high = THRESHOLD_LIMITS[key]
    return IntegerField(label, validators=[Optional(), NumberRange(low, high)],
                        description=f"Default: {default or DEFAULT_THRESHOLDS[key]}.")


class HealthThresholdsForm(Form):
    """When a connection counts as degraded, stale or in error; a blank field keeps the default."""

    window_seconds = _threshold("window_seconds", "Counting window (seconds)")
    failures_degraded = _threshold("failures_degraded", "Failed attempts in the window: degraded")
    throttles_degraded = _threshold("throttles_degraded", "Provider 429s in the window: degraded")
    rejections_degraded = _threshold("rejections_degraded", "Refused deliveries in the window: degraded")
    auth_window_seconds = _threshold("auth_window_seconds", "Signature failure window (seconds)")
    auth_rejections_error = _threshold("auth_rejections_error", "Signature failures in that window: error")
    dead_letter_window_seconds = _threshold("dead_letter_window_seconds", "Dead-letter window (seconds)")
    dead_letters_error = _threshold("dead_letters_error", "Unresolved dead letters: error")
    stale_grace_seconds = _threshold("stale_grace_seconds", "Stale grace after the cadence (seconds)",
                                     "a quarter of the cadence, at least 60")
    error_cadence_factor = _threshold("error_cadence_factor", "Cadences without a success: error")


class ConnectionForm(FlaskForm):
    """Create (provider and client chosen once) or edit a connection."""

    provider = SelectField("Provider", validate_choice=True)
    client = SelectField("Client", validate_choice=True)
    name = StringField("Name", validators=[Optional(), Length(max=200)],
                       description="Left blank: “Client · Provider”.")
    owner_id = SelectField("Owner (admin)", coerce=int, validators=[InputRequired()])
    reason = TextAreaField("Reason", validators=[DataRequired(), Length(max=2000)],
                           description="Why this connection exists: which card or report it feeds.")
    secret = PasswordField("Signing secret from the provider", validators=[Optional(), Length(max=500)],
                           description="Stripe, Shopify and Svix-based senders issue it: paste it here. "
                                       "Blank: zarts generates one and shows it once, for you to give the provider.")
    retry_max_attempts = IntegerField("Max attempts", default=5, validators=[InputRequired(), NumberRange(1, 20)])
    retry_base_seconds = IntegerField("Retry base (seconds)", default=120,
                                      validators=[InputRequired(), NumberRange(1, 86400)],
                                      description="Retries wait base × 4^(attempt − 1), ±25%.")
    expected_cadence_minutes = IntegerField(
        "Expected cadence (minutes)", validators=[Optional(), NumberRange(1, MAX_CADENCE_SECONDS // 60)],
        description="How often events should arrive; blank: no staleness check.")
    webhook_rate_limit_per_minute = IntegerField(
        "Rate limit (deliveries per minute)", validators=[Optional(), NumberRange(1, 100000)],
        description="Blank: no limit. Over it the endpoint answers 429 with Retry-After.")
    raw_retention_days = IntegerField(
        "Keep raw bodies (days)", validators=[Optional(), NumberRange(0, 3650)],
        description="Blank: the server's setting (30 days unless changed); 0: forever. Summaries and records stay.")
    portal_visible = BooleanField("Visible on the client's portal", default=True)
    auto_publish_notes = BooleanField("Publish the notes zarts writes for the client without my review",
                                      default=False)
    client_upload = BooleanField("The client may upload their own files in the portal (CSV connections)",
                                 default=False)
    thresholds = FormField(HealthThresholdsForm, label="Health thresholds")

    def settings(self):
        """The connection's settings, keyed like its columns."""
        minutes = self.expected_cadence_minutes.data
        return {
            "name": self.name.data or "", "owner_id": self.owner_id.data, "reason": self.reason.data,
            "retry_max_attempts": self.retry_max_attempts.data, "retry_base_seconds": self.retry_base_seconds.data,
            "expected_cadence_seconds": minutes * 60 if minutes else None,
            "webhook_rate_limit_per_minute": self.webhook_rate_limit_per_minute.data or None,
            "raw_retention_days": self.raw_retention_days.data,
            "portal_visible": bool(self.portal_visible.data),
            "auto_publish_notes": bool(self.auto_publish_notes.data),
            "client_upload": bool(self.client_upload.data),
            "health_thresholds": {k: v for k, v in self.thresholds.data.items() if v is not None},
        }


class LifecycleForm(FlaskForm):
    to = HiddenField(validators=[DataRequired()])
    reason = StringField("Reason", validators=[Optional(), Length(max=2000)])


class RotateForm(FlaskForm):
    overlap_hours = IntegerField("Keep the old secret valid for (hours)",
                                 validators=[InputRequired(), NumberRange(0, MAX_OVERLAP_HOURS)])
    secret = PasswordField("The provider's new secret", validators=[Optional(), Length(max=500)],
                           description="Blank: zarts generates one and shows it once.")


class MappingForm(FlaskForm):
    mapping_json = TextAreaField("Mapping (JSON)", validators=[DataRequired()])
    reason = StringField("Why (kept with the version)", validators=[Optional(), Length(max=2000)])
    event_id = SelectField("Preview against", coerce=int, validate_choice=False, validators=[Optional()])

    def validate_mapping_json(self, field):
        try:
            field.parsed = json.loads(field.data)
        except (ValueError, RecursionError) as exc:
            raise ValidationError(f"not valid JSON: {exc}") from None


def parse_fields(text):
    """Fields typed as a JSON object or as key=value lines; ValueError says what is wrong."""
    text = (text or "").strip()
    if not text:
        return {}
    if text.startswith("{"):
        return json_object(text)
    fields = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        key, equals, value = line.partition("=")
        if not equals or not key.strip():
            raise ValueError(f"line {number}: write key=value")
        fields[key.strip()] = value.strip()
    return fields


class ManualUpdateForm(FlaskForm):
    object_type = SelectField("Object type", choices=list(OBJECT_TYPES))
    external_id = StringField("External id", validators=[DataRequired(), Length(max=255)])
    status = StringField("Status", validators=[Optional(), Length(max=64)])
    record_fields = TextAreaField("Fields", validators=[Optional(), Length(max=10000)],
                           description="key=value, one per line, or a JSON object.")
    metric_name = StringField("Metric name", validators=[Optional(), Length(max=100)])
    metric_value = DecimalField("Value", validators=[Optional()])
    metric_unit = StringField("Unit", validators=[Optional(), Length(max=32)])
    metric_period = SelectField("Period", choices=list(PERIODS), default="month")
    reason = StringField("Reason", validators=[DataRequired(), Length(max=2000)])

    def validate_record_fields(self, field):
        try:
            field.parsed = parse_fields(field.data)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None

    def validate(self, extra_validators=None):
        """Field checks, then: a named metric needs a value (Optional() stops the field's own chain)."""
        valid = super().validate(extra_validators)
        if (self.metric_name.data or "").strip() and self.metric_value.data is None and not self.metric_value.errors:
            self.metric_value.errors.append("a metric needs a numeric value")
            valid = False
        return valid

    def metrics(self):
        """The optional metric as manual_update expects it."""
        name = (self.metric_name.data or "").strip()
        if not name:
            return []
        return [{"name": name, "value": self.metric_value.data, "unit": self.metric_unit.data or "count",
                 "period": self.metric_period.data}]


class ResolveTaskForm(FlaskForm):
    reason = StringField("Note", validators=[Optional(), Length(max=2000)])


class SyncSettingsForm(FlaskForm):
    """A sync connector's source: endpoint, credential (write-only) and the other overrides as JSON."""

    endpoint = StringField("Endpoint", validators=[Optional(), Length(max=2000)],
                           description="The records API, an http or https URL.")
    credential = PasswordField("New credential (API key)", validators=[Optional(), Length(max=4000)],
                               description="Blank: keep the stored one. Never shown again once saved.")
    settings_json = TextAreaField("Other settings (JSON)", validators=[Optional(), Length(max=20000)],
                                  description="Overrides of the provider's defaults: paths, pagination, page "
                                              "size, schedule, limits. Blank: the defaults.")
    reset_cursor = BooleanField("Start the next sync from the beginning of the source")
    reason = StringField("Reason", validators=[Optional(), Length(max=2000)])

    def validate_settings_json(self, field):
        try:
            field.parsed = json_object(field.data)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None

    def overrides(self):
        """The connection's whole set of overrides as typed (the endpoint field wins)."""
        values = dict(getattr(self.settings_json, "parsed", {}))
        endpoint = (self.endpoint.data or "").strip()
        if endpoint:
            values["endpoint"] = endpoint
        return values

    def fill(self, sync_config):
        """Show a connection's stored overrides (never its credential)."""
        stored = dict(sync_config or {})
        self.endpoint.data = stored.pop("endpoint", "")
        self.settings_json.data = json.dumps(stored, indent=2, sort_keys=True) if stored else ""
