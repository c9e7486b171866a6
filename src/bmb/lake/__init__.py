"""Where data lives: the Iceberg catalog and tables, zones, snapshots, quarantine."""
