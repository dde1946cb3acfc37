"""The gateway's file side: phone bases, uploaded audio, CSV/XLSX exports."""
