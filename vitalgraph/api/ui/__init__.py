"""The web app's static files (static/), served by vitalgraph.api.routes.ui; see docs/ui.md."""
