"""The version of the classifier's rules, recorded with every decision."""

CLASSIFIER_VERSION = "2026.12.1"
