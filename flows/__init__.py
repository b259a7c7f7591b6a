"""Everything that runs things: settings, the warehouse, dbt, the Prefect flow and the CLI."""
