"""From rows to reported numbers: the raw rows and per-image outcomes (results), the
held-out choice (selection), the summary (summary), the report folders (reports), and
what `bench verify` checks against them (verify)."""
