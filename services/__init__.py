"""The five services of the report path."""
