"""Query engines behind one narrow protocol: DuckDB (default), PostgreSQL, Spark."""
