"""The FastAPI application and the web pages."""
