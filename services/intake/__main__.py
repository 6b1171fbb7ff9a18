"""python -m services.intake"""

from services.intake.app import create_app
from services.intake.config import IntakeSettings
from shared.service import serve

settings = IntakeSettings()
serve(lambda: create_app(settings), settings, "intake", settings.intake_port)
