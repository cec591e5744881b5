"""The admin console: a browser front end served at /admin from files shipped in the package."""
