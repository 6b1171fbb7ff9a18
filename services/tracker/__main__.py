"""python -m services.tracker"""

from services.tracker.app import create_app
from services.tracker.config import TrackerSettings
from shared.service import serve

settings = TrackerSettings()
serve(lambda: create_app(settings), settings, "tracker", settings.tracker_port)
