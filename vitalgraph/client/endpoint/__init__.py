"""The older client's endpoint groups, each a thin layer over the same group of our
AsyncVitalGraphClient (vitalgraph.client.endpoints). See docs/migration.md."""
