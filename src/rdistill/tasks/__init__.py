"""Tasks: one :class:`~rdistill.tasks.registry.Task` per data set (its loader entry, prompt and
target layout, answer parsing, which metrics apply), the PaLM / teacher rationale attachment
that parses answers per task, and a recipe's rows and splits (``recipe_data``)."""
