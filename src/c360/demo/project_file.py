"""The demo's `c360.yaml`: the first file a user reads, so every key carries its reason."""

from __future__ import annotations

__all__ = ["PROJECT_YAML"]

PROJECT_YAML = """\
# c360.yaml: where a company's customer data lives, and how c360 should read it.
#
# This demo company keeps people in four systems (a sales CRM, a service desk, a mailing tool
# and a web shop) and what those people did in four more. c360 reads them all, works out which
# records are the same person, and keeps one customer ID and one golden record per person.
# File paths are relative to this file.

project: demo
# The embedded database c360 keeps its customers, links, golden records and events in.
store: c360.duckdb

# How raw values are cleaned before they are compared.
standardize:
  # Phones written without +country are read as numbers of this country.
  default_region: US
  # The shop mixes 1984-03-14, 03/14/1984 and 19840314; `auto` infers month-first per column.
  date_order: auto
  email_provider_rules: true   # john+shop@gmail.com is john@gmail.com: +tags and Gmail dots

# People sources: each system's records about persons. Keys of each source:
#   name        what c360 calls the source (in IDs, lineage, and the rules below)
#   file        the export, CSV here; Parquet and JSON Lines work too, or `sql:` for a table
#   id          the column with the record's id in that system; events may point at it
#   updated_at  the column with the row's last change: the newest value wins in the golden
#               record, and reruns read only what changed
#   department  the team that owns the system, shown beside every record in the 360 view
#   fields      column -> field of the shared model, for columns whose names could mislead;
#               every other column is detected from its name and values, and each
#               decision is printed with its reason
people:
  - name: crm
    file: data/crm_contacts.csv
    id: contact_id
    updated_at: modified_at
    department: sales
    fields:
      zip: postcode
      state: region
      company: company     # the employer: context for sales, never proof of identity
      mobile: phone        # a second phone column; both are compared

  - name: service
    file: data/service_requesters.csv
    id: requester_id
    updated_at: updated
    department: service
    fields:
      # "Garcia, Maria" or "Maria Garcia", as agents typed it; c360 splits it into parts.
      full_name: full_name
      # Many requesters carry the call centre's own line here; blocking skips a value
      # shared by that many records, so it never links strangers.
      phone: phone

  - name: marketing
    file: data/marketing_subscribers.csv
    id: subscriber_id
    updated_at: updated_at
    department: marketing
    fields:
      first_name: given_name
      last_name: family_name   # mostly empty: sign-up forms ask for a first name only
      opted_in: ignore         # consent, not identity: kept with the record, never compared

  - name: shop
    file: data/shop_customers.csv
    id: customer_no
    # The shop has no change date; the last login is the closest it keeps.
    updated_at: last_login
    department: commerce
    fields:
      name: full_name
      address: street      # "12 Main St Apt 4B", house number included
      postcode: postcode
      birth_date: birth_date

# Event sources: what people did. Keys beyond those of people sources:
#   type         order, case, email, web_visit (or your own): how the timeline shows it
#   occurred_at  the column with the event's time
#   person       how the event finds its person: `source` + `record_id` when it carries a
#                people source's record id; `email` or `phone` when it carries a contact
#                point that c360 looks up among all people records. An event whose person
#                cannot be found is set aside with its reason, never dropped silently.
#   status, amount   columns shown on the timeline and summed by insights (lifetime value)
#   attributes   other columns kept as they are
events:
  - name: orders
    type: order
    file: data/shop_orders.csv
    department: commerce
    id: order_id
    occurred_at: ordered_at
    person: {source: shop, record_id: customer_no}
    status: status
    amount: total
    attributes: [currency, items]

  - name: cases
    type: case
    file: data/service_cases.csv
    department: service
    id: case_id
    occurred_at: opened_at
    person: {source: service, record_id: requester_id}
    status: status
    attributes: [subject, channel, priority]

  - name: email_events
    type: email
    file: data/email_events.csv
    department: marketing
    id: event_id
    occurred_at: occurred_at
    person: {email: email}
    status: event          # sent, opened, clicked, unsubscribed
    attributes: [campaign]

  - name: web_visits
    type: web_visit
    file: data/web_visits.csv
    department: web
    id: visit_id
    occurred_at: occurred_at
    # Anonymous visits have no email: they are reported as "no known person".
    person: {email: email}
    attributes: [page, duration_s, device]

# Identity resolution. With no rules, c360 learns how much each field's agreement is worth
# from the data itself (Fellegi-Sunter) and links pairs it is sure of.
matching:
  blocking:
    # Only records sharing a key are compared; a key held by more records than this (the
    # call-centre phone, a household email) is skipped and reported.
    max_block_size: 50
  clustering:
    # Match probability at which two records become one customer.
    threshold: 0.9
  # Deterministic rules link on their own, before the model. For example:
  # rules:
  #   - name: same_email_and_given_name
  #     all:
  #       - {field: email, match: exact_normalized}
  #       # a household shares an email and a surname, so compare the given name
  #       - {field: given_name, match: fuzzy, threshold: 0.85}

# The golden record: which of a customer's records each field is taken from.
golden:
  # By default the newest value wins, by each source's `updated_at`.
  default: most_recent
  # The most trusted source first, for fields whose rule is `source_priority`.
  source_priority: [crm, shop, service, marketing]
  fields:
    # Names: sales checks them, customers type their own in the shop; the newest record is
    # as likely to be a lower-case newsletter sign-up.
    given_name: source_priority
    family_name: source_priority
    # A birth date does not change: the value most records agree on beats the newest typo.
    birth_date: most_frequent
    # Only sales keeps an employer worth showing.
    company: {rule: source_priority, sources: [crm]}

# Consent per purpose: stated through the API or `c360 consent set`, or read from events. The
# latest statement wins; refusing `processing` keeps a customer out of insights and exports.
consent:
  purposes: [processing, email_marketing, sms, profiling]
  from_events:
    - {source: email_events, status: unsubscribed, purpose: email_marketing, granted: false}

# Who may see and change what, on every interface: the API (an API key carries a role), the
# command line (`--role`) and exports. Each value is shown, masked (j***@example.com,
# +1 *** *** 0199, a birth year) or hidden. admin, reader and writer exist without being named.
governance:
  default:                 # every role starts from this
    can: [read]
    fields: {national_id: hide}
  roles:
    steward:               # reviews matches, corrects records
      can: [read, write]
    sales:
      fields: {birth_date: mask}
      events: {case: mask}             # that a case is open, not what it says
    service:
      fields: {birth_date: mask}
      events: {email: hide, web_visit: hide}
      # Hiding events changes every view, so `c360 serve` guards this role's views ahead (a
      # first read as fast as any other, for ~750 bytes of memory per customer):
      # prepared: false        # guards each view on its first read instead
    marketing:
      fields: {birth_date: mask, street: hide, house_number: hide}
      # The service desk's phone may link a customer; marketing does not see it.
      sources: {service: {phone: hide}}
      events: {case: hide}
    analyst:               # figures, not people
      default: mask
      fields: {insights: show}
      events: {case: hide, email: show, order: show, web_visit: show}
"""
