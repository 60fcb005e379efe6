"""The older client's response objects (`vitalgraph.client.response.client_response`)."""
