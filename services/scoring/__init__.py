"""The scoring service (县区考核): county scorecards, rankings and exposure lists, built only from
the registry's, factors' and issues' events."""
