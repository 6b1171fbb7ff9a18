"""python -m services.router"""

from services.router.app import create_app
from services.router.config import RouterSettings
from shared.service import serve

settings = RouterSettings()
serve(lambda: create_app(settings), settings, "router", settings.router_port)
