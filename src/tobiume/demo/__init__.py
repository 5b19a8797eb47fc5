"""A synthetic Kitakyushu: the invented city every demo, test and benchmark runs on.

No real person's data may ever be in the project. `generate.city` builds, from a seed alone,
the directory of the seven wards (hospitals with their 地域連携室 windows, clinics, pharmacies,
訪問看護ステーション, 介護サービス事業所, 居宅介護支援事業所 and their care managers, the
地域包括支援センター, the city) and then each registered citizen with their medical, care and
checkup records, shaped as JP Core asks. `output` writes NDJSON or transaction Bundles; `tobiume
demo load` puts a small city into the configured database. docs/data.md describes the result.

The package imports nothing else of the server: it is data, not behaviour, and the server
imports it only to load it (`importer.import_city`).
"""
