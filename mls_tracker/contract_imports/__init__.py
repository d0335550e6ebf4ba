"""Bringing an existing partnership in: the workbook template, upload, preview, import job."""
