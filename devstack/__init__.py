"""Local infrastructure and process supervision for `ticketing dev` and the tests.

Not deployed: production runs the services against Apache Kafka and managed PostgreSQL.
"""
