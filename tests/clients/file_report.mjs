// Files one synthetic report into tipline's /ispws with a platform's own CyberTipline client
// (@civitai/cybertipline-tools), exactly as the platform's code calls it, and prints what the
// client read back. Usage: node file_report.mjs BASE_URL USER PASSWORD
import { Client, Environment, IncidentType } from "@civitai/cybertipline-tools";

const [baseUrl, username, password] = process.argv.slice(2);
const client = new Client({ environment: Environment.Testing, credentials: { username, password } });
client.baseUrl = baseUrl; // the client has no setting for it: point it at the sandbox

const status = await client.getStatus();
const opened = await client.submitReport({
  incidentSummary: {
    incidentType: IncidentType.ChildSexTourism,
    incidentDateTime: new Date("2026-03-01T10:00:00Z"),
  },
  reporter: { reportingPerson: { firstName: "Synthetic", email: [{ email: "trust@esp.example.com", type: "Work" }] } },
});
const reportId = opened.data.reportId;
const upload = await client.uploadFile({ id: reportId, file: new File(["synthetic bytes from node"], "upload.jpg") });
const details = await client.submitFileDetails({
  reportId: Number(reportId), fileId: upload.data.fileId, fileViewedByEsp: false,
});
const done = await client.finishReport({ id: reportId });
const again = await client.finishReport({ id: reportId }); // 5102: a state this client accepts
console.log(JSON.stringify({
  status: status.data.responseCode, reportId: Number(reportId), fileId: upload.data.fileId,
  hash: upload.data.hash, details: details.data.responseCode, done: done.data,
  again: again.data,
}));
