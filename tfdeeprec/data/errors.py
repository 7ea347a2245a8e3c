"""The error raised for bad input data."""


class DataError(ValueError):
    """Input data that cannot be used, with the source, column and value that are wrong.

    Example:

    >>> str(DataError("NaN rating", source="u.data", column="rating", value="row 7"))
    "NaN rating. Source: u.data, column: rating, value: 'row 7'"
    """

    def __init__(self, message: str, *, source: str | None = None,
                 column: str | None = None, value=None):
        self.source = source
        self.column = column
        self.value = value
        parts = []
        if source is not None:
            parts.append(f"Source: {source}")
        if column is not None:
            parts.append(f"column: {column}")
        if value is not None:
            parts.append(f"value: {value!r}")
        super().__init__(message + (". " + ", ".join(parts) if parts else ""))
