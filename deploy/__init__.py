"""Deploy targets' code that ships with the app (see README.md beside this file)."""
