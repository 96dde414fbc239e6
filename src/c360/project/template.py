"""The commented starter `c360.yaml` that `c360 init` writes."""

TEMPLATE = """\
# c360 project: the systems your customer data lives in, mapped onto one customer model.
# `c360 run` reads every source, resolves identities, keeps one customer ID and one golden record
# per person, and publishes them to the store below. Paths are relative to this file.

project: my-company
store: c360.duckdb            # embedded store (DuckDB file); nothing else to install

standardize:
  default_region: US          # phone numbers without a +country code are read as this country's
  date_order: auto            # auto | dmy | mdy | ymd, for dates like 03/04/1990
  email_provider_rules: false # true: j.doe+news@gmail.com and jdoe@gmail.com are one address

# Sources of people: each row is one system's record about a person.
people:
  - name: crm                 # a short name; records are named crm:<id>
    file: data/crm_contacts.csv   # CSV, Parquet or JSON Lines
    id: contact_id            # the column with the record's id in this system
    updated_at: modified_at   # optional: when the row last changed (most_recent, lineage)
    department: sales
    fields:                   # optional: column -> field where detection should not guess
      zip: postcode           # fields: given_name family_name full_name email phone birth_date
                              # street house_number city postcode region country national_id
                              # customer_id company other ignore
  - name: shop
    sql:                      # or read a table or query through SQLAlchemy
      url: postgresql+psycopg://user@db.example.com/shop
      table: customers        # or: query: SELECT ... FROM ...
    id: customer_no
    updated_at: last_login
    department: commerce

# Sources of events: engagements tied to a person by a record id or a contact point.
events:
  - name: orders
    file: data/orders.csv
    type: order               # order | case | email | web_visit | your own
    department: commerce
    id: order_id
    occurred_at: ordered_at
    status: status
    amount: total
    person: {source: shop, record_id: customer_no}   # the shop record the order belongs to
  - name: email_events
    file: data/email_events.csv
    type: email
    department: marketing
    id: event_id
    occurred_at: occurred_at
    status: event             # sent | opened | clicked | unsubscribed
    attributes: [campaign]
    person: {email: email}    # tied by contact point

# Identity resolution; every key is optional (zero configuration works).
matching:
  rules:                      # deterministic: any rule links; all criteria of a rule must hold
    - name: same customer number
      all: [{field: customer_id, match: exact}]   # exact | exact_normalized | fuzzy
  clustering:
    threshold: 0.9            # match probability from which two records are one customer
  # comparisons, blocking, conflicts, training: see `c360 dedupe FILE --show-config`

# Golden record: how each field is chosen among a customer's records.
golden:
  default: most_recent        # most_recent | most_frequent | source_priority | most_complete
  source_priority: [crm, shop]
  fields:
    birth_date: most_frequent
    email: {rule: source_priority, sources: [shop, crm]}
"""
