"""What shoppers do: events recorded under a pseudonym, off the request path, without personal
data (privacy.py: who is recorded and under which name; recording.py: from the request to the
workers; storing.py: into PostgreSQL's day partitions, and out again when they expire)."""
