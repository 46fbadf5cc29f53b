"""Server API tests: real uvicorn servers, real files, real zips."""
