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


def problems_message(origin: str, problems: list[str]) -> str:
    """One line for one problem (``FILE: key: why``), else a header and one line per problem."""
    if len(problems) == 1:
        return f"{origin}: {problems[0]}"
    return "\n".join([f"{origin}: {len(problems)} problem(s) in the config:", *(f"  - {p}" for p in problems)])


def format_validation_errors(origin: str, err) -> str:
    """A pydantic ``ValidationError`` as :func:`problems_message`: each key, why, and the value given."""
    errors = err.errors()
    # A value that fits no member of a union (``str | TeacherSource``) gets one error per member:
    # keep the member that got furthest (a bad key inside the mapping), not "not a string".
    deeper = {e["loc"][:-1] for e in errors for f in errors if len(f["loc"]) > len(e["loc"])
              and f["loc"][: len(e["loc"]) - 1] == e["loc"][:-1] and f["loc"] != e["loc"]}
    errors = [e for e in errors if not (e["type"].endswith("_type") and e["loc"][:-1] in deeper)]
    problems = []
    for e in errors:
        key = ".".join(str(p) for p in e["loc"]) or "(top level)"
        got = "" if e["type"] == "missing" or not e["loc"] else f" (got {e.get('input')!r})"
        problems.append(f"{key}: unknown key (check the spelling; see docs/config.md)"
                        if e["type"] == "extra_forbidden" else f"{key}: {e['msg']}{got}")
    return problems_message(origin, problems)
