"""The dlt source for the Umami API and the pipeline that loads it into PostgreSQL."""
