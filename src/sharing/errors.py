class ImportFileError(ValueError):
    """The uploaded file cannot be imported; the message says what is wrong, for the user."""
