"""Reports: exports (CSV, XLSX), the open-data package and the commune dashboard."""
