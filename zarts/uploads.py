"""Reading a CSV upload from a form post: the size limit per route, then the CSRF check.

The global CSRF check would read the whole body before any limit applies, so upload routes are
exempt from it and call read_upload(), which sets the limit first and checks the token after.
"""
from flask import current_app, request
from flask_wtf.csrf import CSRFError, validate_csrf
from werkzeug.exceptions import RequestEntityTooLarge
from wtforms.validators import ValidationError

FORM_OVERHEAD = 64 * 1024  # multipart boundaries and the small fields around the file


class UploadRefused(Exception):
    """The upload cannot be read: the message for the user and the HTTP status."""

    def __init__(self, message, status):
        super().__init__(message)
        self.message, self.status = message, status


def read_upload():
    """(form, file storage) of the current request; UploadRefused when too large or without a file."""
    limit = current_app.config["CSV_MAX_BYTES"]
    request.max_content_length = limit + FORM_OVERHEAD
    try:
        form, upload = request.form, request.files.get("file")
    except RequestEntityTooLarge:
        raise UploadRefused(f"The file is larger than {limit / 1048576:,.0f} MB, the upload limit.", 413) from None
    try:
        if current_app.config.get("WTF_CSRF_ENABLED", True):
            validate_csrf(form.get("csrf_token"))
    except ValidationError as exc:
        raise CSRFError(exc.args[0]) from None
    if upload is None or not upload.filename:
        raise UploadRefused("Choose a CSV file to upload.", 400)
    return form, upload
