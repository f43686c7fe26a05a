"""One router per resource: health, session (sign in/out), flags (API), score, model,
aggregates, users, and the pages of flags and model versions; ``api_docs`` serves the OpenAPI
document and its server-rendered reference page behind authentication."""
