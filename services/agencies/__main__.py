"""python -m services.agencies"""

from services.agencies.app import create_app
from services.agencies.config import AgenciesSettings
from shared.service import serve

settings = AgenciesSettings()
serve(lambda: create_app(settings), settings, "agencies", settings.agencies_port)
