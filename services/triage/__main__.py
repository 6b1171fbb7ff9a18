"""python -m services.triage"""

from services.triage.app import create_app
from services.triage.config import TriageSettings
from shared.service import serve

settings = TriageSettings()
serve(lambda: create_app(settings), settings, "triage", settings.triage_port)
