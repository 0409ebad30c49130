"""User-facing errors: the CLI prints their message (no traceback) and exits 2."""


class RdistillError(Exception):
    """Base class for errors caused by user input (config, data, model paths)."""


class ConfigError(RdistillError):
    """The YAML file or a --set override is invalid."""


class DataError(RdistillError):
    """A data file is missing or a row is invalid; the message names file, row and field."""


class ModelError(RdistillError):
    """A model or tokenizer could not be found or loaded."""


class TrainingError(RdistillError):
    """Training cannot go on (a non-finite loss); the message names the step and the loss terms."""
