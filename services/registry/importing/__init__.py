"""Ledger import 台账导入: a CSV or XLSX sheet of projects → `ProjectCreate`s for the import use
case. `reader` turns the file into rows within the size limits, `columns` is the one table of
columns (it drives the parser and the downloadable templates), `mapping` turns rows into
projects with their spreadsheet row numbers."""
