"""Placeholder until this topic is built."""
from flask import render_template_string

from . import bp


@bp.route("/tasks")
def tasks():
    """Placeholder."""
    return render_template_string("{% extends 'base.html' %}{% block content %}<h1>Coming soon</h1>{% endblock %}")
