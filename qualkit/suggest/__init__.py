"""Machine suggesters. Each computes Suggestions and never writes anywhere."""
