"""The relational layout: current resources, every version, and one index table per
SearchParameter type (the layout of the reference servers, HAPI FHIR JPA and Medplum).

* `resource` holds the current version of every resource, including tombstones of deleted ones
  (https://hl7.org/fhir/R4/http.html#delete: a read of a deleted resource answers 410), with
  `patient_id`, the owner of the Patient compartment, on every row so that patient data can be
  sharded by it (DESIGN.md, "Scale").
* `resource_version` is append-only: vread and history read it.
* `idx_*` rows are derived from the current version by `indexing.extract` and rewritten in the
  same transaction as the resource; they key on `resource.pk`, a compact surrogate.
* Each index table has a "match" index, (type, parameter, value..., `res_pk`), and one on
  `res_pk` alone. The match index ends in `res_pk` so that a search reads the keys of the
  matches from the index alone (an index-only scan, no visit to the table), and an equality
  match (a code, a reference) comes out in key order, so a first page of a common code stops
  after its twenty rows instead of sorting them all. A date has two, by start and by end,
  since `ge`/`gt` ask about the end of a range and `le`/`lt`/`eq` about its start. The
  reference index carries the URL too (`INCLUDE` on PostgreSQL) for the "is it local" test.
  `docs/search-plans.md` shows the plans.

The Alembic migrations in `alembic/versions` create exactly these tables; a test compares them.
"""

from __future__ import annotations

from functools import cache

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

metadata = MetaData()

# SQLite only auto-increments an `INTEGER PRIMARY KEY`; PostgreSQL gets a 64-bit identity.
PrimaryKey = BigInteger().with_variant(Integer(), "sqlite")

TYPE_LEN = 64
ID_LEN = 64
PARAM_LEN = 100

resource = Table(
    "resource",
    metadata,
    Column("pk", PrimaryKey, primary_key=True, autoincrement=True),
    Column("res_type", String(TYPE_LEN), nullable=False),
    Column("res_id", String(ID_LEN), nullable=False),
    Column("version", Integer, nullable=False),
    Column("last_updated", DateTime(timezone=True), nullable=False),
    Column("deleted", Boolean, nullable=False, default=False),
    Column("body", Text, nullable=True),
    Column("patient_id", String(ID_LEN), nullable=True),
    Column("data_class", String(16), nullable=True),
    Column("owner_org", String(128), nullable=True),
    UniqueConstraint("res_type", "res_id", name="uq_resource_type_id"),
    Index("ix_resource_type_updated", "res_type", "last_updated"),
    Index("ix_resource_patient", "patient_id"),
)

resource_count = Table(
    "resource_count",
    metadata,
    Column("res_type", String(TYPE_LEN), nullable=False),
    Column("delta", BigInteger, nullable=False),
    Index("ix_resource_count_type", "res_type"),
)
"""How many live resources each type has, as rows of changes that add up to it (PostgreSQL
only, written by triggers on `resource`; `storage.counts`)."""

resource_version = Table(
    "resource_version",
    metadata,
    Column("res_pk", BigInteger, primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("res_type", String(TYPE_LEN), nullable=False),
    Column("res_id", String(ID_LEN), nullable=False),
    Column("last_updated", DateTime(timezone=True), nullable=False),
    Column("method", String(8), nullable=False),
    Column("deleted", Boolean, nullable=False, default=False),
    Column("body", Text, nullable=True),
    Column("patient_id", String(ID_LEN), nullable=True),
    Index("ix_resource_version_updated", "last_updated"),
    Index("ix_resource_version_type_updated", "res_type", "last_updated"),
)


def _index_table(name: str, *columns: Column[object], indexes: tuple[Index, ...]) -> Table:
    """An index table: which resource, which parameter, and the kind's own value columns."""
    return Table(
        name,
        metadata,
        Column("res_pk", BigInteger, nullable=False),
        Column("res_type", String(TYPE_LEN), nullable=False),
        Column("patient_id", String(ID_LEN), nullable=True),
        Column("param", String(PARAM_LEN), nullable=False),
        *columns,
        Index(f"ix_{name}_res", "res_pk"),
        *indexes,
    )


idx_string = _index_table(
    "idx_string",
    Column("value_norm", Text, nullable=False),
    Column("value_exact", Text, nullable=False),
    indexes=(
        Index(
            "ix_idx_string_match",
            "res_type",
            "param",
            "value_norm",
            "res_pk",
            postgresql_ops={"value_norm": "text_pattern_ops"},
        ),
    ),
)

idx_token = _index_table(
    "idx_token",
    Column("system", Text, nullable=True),
    Column("code", Text, nullable=True),
    # `:text` (https://hl7.org/fhir/R4/search.html#token): the folded display text.
    Column("text_norm", Text, nullable=True),
    # `:of-type`: an Identifier's type coding, beside its system (`system`) and value (`code`).
    Column("type_system", Text, nullable=True),
    Column("type_code", Text, nullable=True),
    indexes=(
        Index("ix_idx_token_match", "res_type", "param", "code", "system", "res_pk"),
        # Most token rows have no text: a partial index keeps writes of codes as cheap as before.
        Index(
            "ix_idx_token_text",
            "res_type",
            "param",
            "text_norm",
            postgresql_ops={"text_norm": "text_pattern_ops"},
            postgresql_where=text("text_norm IS NOT NULL"),
            sqlite_where=text("text_norm IS NOT NULL"),
        ),
    ),
)

idx_reference = _index_table(
    "idx_reference",
    Column("target_type", String(TYPE_LEN), nullable=True),
    Column("target_id", String(ID_LEN), nullable=True),
    Column("url", Text, nullable=True),
    indexes=(
        Index(
            "ix_idx_reference_match",
            "res_type",
            "param",
            "target_type",
            "target_id",
            "res_pk",
            postgresql_include=["url"],
        ),
        Index("ix_idx_reference_target", "target_type", "target_id"),
    ),
)

idx_date = _index_table(
    "idx_date",
    Column("low", BigInteger, nullable=False),
    Column("high", BigInteger, nullable=False),
    indexes=(
        Index("ix_idx_date_low", "res_type", "param", "low", "high", "res_pk"),
        Index("ix_idx_date_high", "res_type", "param", "high", "low", "res_pk"),
    ),
)

idx_quantity = _index_table(
    "idx_quantity",
    Column("value", Float, nullable=False),
    Column("system", Text, nullable=True),
    Column("code", Text, nullable=True),
    Column("unit", Text, nullable=True),
    indexes=(Index("ix_idx_quantity_match", "res_type", "param", "value", "res_pk"),),
)

idx_number = _index_table(
    "idx_number",
    Column("value", Float, nullable=False),
    indexes=(Index("ix_idx_number_match", "res_type", "param", "value", "res_pk"),),
)

idx_uri = _index_table(
    "idx_uri",
    Column("value", Text, nullable=False),
    indexes=(Index("ix_idx_uri_match", "res_type", "param", "value", "res_pk"),),
)

idx_composite = _index_table(
    "idx_composite",
    # One row per element a composite parameter's expression selects and per combination of its
    # components' values there (`indexing.kinds.composite`); a component fills the slot of its
    # type: the first token component `system1`/`code1`, a second one `system2`/`code2`, ...
    Column("system1", Text, nullable=True),
    Column("code1", Text, nullable=True),
    Column("system2", Text, nullable=True),
    Column("code2", Text, nullable=True),
    Column("quantity", Float, nullable=True),
    Column("quantity_system", Text, nullable=True),
    Column("quantity_code", Text, nullable=True),
    Column("quantity_unit", Text, nullable=True),
    Column("low", BigInteger, nullable=True),
    Column("high", BigInteger, nullable=True),
    Column("text_norm", Text, nullable=True),
    Column("number1", Float, nullable=True),
    Column("number2", Float, nullable=True),
    Column("target_type", String(TYPE_LEN), nullable=True),
    Column("target_id", String(ID_LEN), nullable=True),
    Column("url", Text, nullable=True),
    indexes=(Index("ix_idx_composite_match", "res_type", "param", "code1", "system1", "res_pk"),),
)

INDEX_KEY_COLUMNS = ("res_pk", "res_type", "patient_id")
"""The columns every index row shares: which resource, its type and its compartment owner."""


@cache
def value_columns(table: Table) -> tuple[Column[object], ...]:
    """An index table's own columns (param first), in the order `IndexValues` tuples hold them."""
    return tuple(c for c in table.columns if c.name not in INDEX_KEY_COLUMNS)


INDEX_TABLES: tuple[Table, ...] = (
    idx_string,
    idx_token,
    idx_reference,
    idx_date,
    idx_quantity,
    idx_number,
    idx_uri,
    idx_composite,
)

# Who may ask: registered clients, the client assertions they have used, and failed attempts
# at the token endpoint (`auth`).
#
# * `client`: a system registered once with its public keys (SMART Backend Services,
#   https://hl7.org/fhir/smart-app-launch/backend-services.html#registering-a-smart-backend-service):
#   its organisation and role (what the consent and audit layers use), the scopes it may be
#   granted, and a JWK Set given inline or as a URL. No secret is ever stored.
# * `client_assertion`: each assertion's `jti`, kept until the assertion expires, so that one is
#   never accepted twice (RFC 7523 section 3, item 7; SMART: "the authorization server SHALL
#   ... check that the jti value has not been previously encountered").
# * `token_failure`: one row per refused token request, per client and per network address,
#   read back over a short window to refuse a caller that keeps failing (`auth.throttle`).

CLIENT_ID_LEN = 64

client = Table(
    "client",
    metadata,
    Column("client_id", String(CLIENT_ID_LEN), primary_key=True),
    Column("name", Text, nullable=False),
    Column("organization", String(128), nullable=False),
    Column("role", String(32), nullable=False),
    Column("scopes", Text, nullable=False),
    Column("jwks", Text, nullable=True),
    Column("jwks_url", Text, nullable=True),
    Column("disabled", Boolean, nullable=False, default=False),
    Column("created", DateTime(timezone=True), nullable=False),
)

client_assertion = Table(
    "client_assertion",
    metadata,
    Column("client_id", String(CLIENT_ID_LEN), primary_key=True),
    Column("jti", String(255), primary_key=True),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Index("ix_client_assertion_expires", "expires_at"),
)

token_failure = Table(
    "token_failure",
    metadata,
    Column("subject", String(300), nullable=False),
    Column("failed_at", DateTime(timezone=True), nullable=False),
    Index("ix_token_failure_subject", "subject", "failed_at"),
)

# What the access gates join (`access.gates`), materialised from the resources that say it
# whenever one is written, in the same transaction (`access.materialise`), keyed by the `pk` of
# the resource each row comes from, so that a new version replaces its rows:
#
# * `registration`: each citizen's active registration Consent (`access.consent_rules`), and
#   the organisation that registered them;
# * `consent_rule`: its provisions, one flat row per actor, class and purpose;
# * `care_relation`: the participants of each active CareTeam (`access.relations`);
# * `served_ward`: the wards a 地域包括支援センター's Organization says it serves, folded.

registration = Table(
    "registration",
    metadata,
    Column("consent_pk", BigInteger, primary_key=True),
    Column("patient_id", String(ID_LEN), nullable=False),
    Column("registrar", String(128), nullable=True),
    Index("ix_registration_patient", "patient_id"),
)

consent_rule = Table(
    "consent_rule",
    metadata,
    Column("consent_pk", BigInteger, nullable=False),
    Column("patient_id", String(ID_LEN), nullable=False),
    Column("depth", Integer, nullable=False),
    Column("permit", Boolean, nullable=False),
    Column("data_class", String(16), nullable=False),
    Column("res_type", String(TYPE_LEN), nullable=True),
    Column("actor_org", String(128), nullable=True),
    Column("actor_role", String(64), nullable=True),
    Column("actor_user", String(128), nullable=True),
    Column("purpose", String(32), nullable=True),
    Column("start_us", BigInteger, nullable=True),
    Column("end_us", BigInteger, nullable=True),
    Index("ix_consent_rule_patient", "patient_id", "data_class"),
    Index("ix_consent_rule_consent", "consent_pk", "data_class"),
)

care_relation = Table(
    "care_relation",
    metadata,
    Column("source_pk", BigInteger, nullable=False),
    Column("patient_id", String(ID_LEN), nullable=False),
    Column("org", String(128), nullable=True),
    Column("member", String(128), nullable=True),
    Index("ix_care_relation_patient", "patient_id"),
    Index("ix_care_relation_source", "source_pk"),
)

served_ward = Table(
    "served_ward",
    metadata,
    Column("source_pk", BigInteger, nullable=False),
    Column("org", String(128), nullable=False),
    Column("ward_norm", Text, nullable=False),
    Index("ix_served_ward_org", "org", "ward_norm"),
    Index("ix_served_ward_source", "source_pk"),
)

DERIVED_TABLES: tuple[Table, ...] = (registration, consent_rule, care_relation, served_ward)
