"""The older client's utility modules (`vitalgraph.client.utils.client_utils`)."""
