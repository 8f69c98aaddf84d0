"""Forms for metric definitions and report notes."""
from flask_wtf import FlaskForm
from wtforms import DecimalField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from ..models import AGGREGATIONS, PERIODS


def choices(pairs):
    """SelectChoice objects from (value, label) pairs (WTForms 3.3 deprecates bare tuples)."""
    return [SelectChoice(str(value), label) for value, label in pairs]


def _choices(values, blank=None):
    return choices(([("", blank)] if blank else []) + [(v, v.replace("_", " ")) for v in values])


class MetricForm(FlaskForm):
    name = StringField("Card title", validators=[DataRequired(), Length(max=200)])
    # The choices are the client's own connections (set by the view); anything else is refused.
    connection_id = SelectField("Source connection", coerce=lambda v: int(v) if v else None,
                                invalid_choice_message="choose one of this client's connections")
    source_name = StringField("Source, as the client reads it", validators=[Optional(), Length(max=100)],
                              description="e.g. Online card payments. Blank: a plain name for the provider.")
    metric_name = StringField("Mapped value", validators=[DataRequired(), Length(max=100)],
                              description="The metric name in the connection's mapping, e.g. revenue or leads.")
    period = SelectField("Period", choices=_choices(PERIODS, "— choose —"))
    unit = StringField("Unit", validators=[Optional(), Length(max=32)], description="e.g. USD, count, leads")
    client_meaning = TextAreaField("What it means for the client", validators=[Optional(), Length(max=500)],
                                   description="One plain sentence the client will read on the card.")
    aggregation = SelectField("Aggregation", choices=_choices(AGGREGATIONS))
    baseline_mode = SelectField("Baseline", choices=choices([("fixed", "a fixed value"), ("previous_period", "the previous period")]))
    baseline_value = DecimalField("Baseline value", validators=[Optional()])
    baseline_label = StringField("Baseline label", validators=[Optional(), Length(max=200)],
                                 description="e.g. 'Average before launch'")
    target_value = DecimalField("Target", validators=[Optional()])
    direction = SelectField("Better when", choices=choices([("higher", "higher"), ("lower", "lower")]))
    watch_threshold = DecimalField("Watch below (or above, if lower is better)", validators=[Optional()])
    action_threshold = DecimalField("Needs action below (or above)", validators=[Optional()])
    next_action = TextAreaField("Next action", validators=[Optional(), Length(max=500)])

    def values(self):
        """The submitted values, keyed like the metric's fields."""
        return {name: getattr(self, name).data for name in (
            "name", "connection_id", "source_name", "metric_name", "period", "unit", "client_meaning", "aggregation",
            "baseline_mode", "baseline_value", "baseline_label", "target_value", "direction",
            "watch_threshold", "action_threshold", "next_action")}


class NoteForm(FlaskForm):
    title = StringField("Title", validators=[DataRequired(), Length(max=200)])
    body = TextAreaField("Note", validators=[Optional(), Length(max=5000)])
