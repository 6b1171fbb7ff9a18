"""Files one synthetic report into tipline's /ispws with a third-party CyberTipline client
(ncmec-cybertip, which reads every answer with strict pydantic-xml models) and prints what the
client read back. Runs under that client's own Python (3.13+): python file_report.py BASE_URL USER
PASSWORD"""

import asyncio
import json
import sys
from datetime import UTC, datetime

from ncmec_cybertip import (
    ApiError,
    CyberTiplineClient,
    FileDetails,
    IncidentSummary,
    IncidentType,
    Person,
    Report,
    Reporter,
)


async def main(base_url: str, username: str, password: str) -> None:
    async with CyberTiplineClient(username=username, password=password,
                                  base_url=base_url) as client:
        status = await client.status()
        opened = await client.submit(Report(
            incident_summary=IncidentSummary(
                incident_type=IncidentType.ONLINE_ENTICEMENT,
                incident_date_time=datetime(2026, 3, 1, 10, tzinfo=UTC)),
            reporter=Reporter(reporting_person=Person(first_name="Synthetic"))))
        report_id = opened.report_id
        upload = await client.upload(report_id, b"synthetic bytes from python", filename="a.jpg")
        details = await client.file_info(FileDetails(report_id=report_id, file_id=upload.file_id,
                                                     file_viewed_by_esp=False))
        done = await client.finish(report_id)
        try:
            await client.finish(report_id)
            again = None
        except ApiError as exc:  # what the client raises for a non-zero code
            again = {"code": exc.response_code, "reportId": exc.report_id}
    sys.stdout.write(json.dumps({
        "status": status.response_code, "reportId": report_id, "fileId": upload.file_id,
        "hash": upload.hash, "details": details.response_code,
        "done": {"responseCode": done.response_code, "reportId": done.report_id,
                 "fileIds": done.file_ids},
        "again": again}) + "\n")


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))
