"""`fastapply serve`: an OpenAI-compatible HTTP API with Predicted Outputs, served by the engine."""
