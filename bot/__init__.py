"""Evidence FAQ bot: cited, templated answers about evidence level assessments."""

__version__ = "0.1.0"
