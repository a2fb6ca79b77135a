"""Checks of the API fuzzer (.ci/fuzz/run) beyond schemathesis's own.

`positive_data_acceptance` is configured (schemathesis.toml) to let a schema-valid
request be refused with 400, 402, 412 or 422. This check takes that back for every refusal
that is not about a fact the document cannot state: a problem whose codes are not all in
STATEFUL_REFUSALS fails the run, naming the codes, and a 402 passes only as the payment
provider's refusal (PROVIDER_REFUSALS). So a request the document calls valid may be
refused only for the catalog's, the order's, the key's or the provider's state, never for
its shape.
"""

import os

import schemathesis

# Refusals of a schema-valid request that depend on stored state or on a rule across
# fields, with why no schema states them.
STATEFUL_REFUSALS = {
    # The catalog: which SKUs exist and are active.
    "unknown_sku", "inactive_sku",
    # Stock: enough to reserve, and the bounds of on hand at a location.
    "out_of_stock", "above_maximum_on_hand",
    # Across fields: the channel's currency, the method's provider, the client's total
    # against ours, a configured carrier/service.
    "currency_mismatch", "unknown_provider", "totals_mismatch", "unknown_service",
    # A GTIN's check digit (GS1 mod 10).
    "invalid_gtin",
    # An order's state: what it holds, what was paid, picked or packed.
    "nothing_to_capture", "capture_exceeds_authorized", "refund_exceeds_captured",
    "invalid_amount", "not_manual_payment", "invalid_refund_line", "refund_exceeds_line",
    "invalid_pick", "empty_package", "invalid_package", "scan_not_in_order",
    "scan_exceeds_picked", "wrong_pickup_code", "pickup_order",
    # The Idempotency-Key was used before with another request.
    "idempotency_key_reused",
    # A cursor or ETag this API did not issue: opaque to the document by design.
    "invalid_cursor", "precondition_failed",
    # The server's clock: a key's expiry must lie ahead of it.
    "in_the_past",
    # Returns: what the order, the catalog and the policy say of a well-formed request.
    "unknown_line", "repeated_line", "not_delivered", "quantity_beyond_returnable",
    "unknown_reason", "not_a_leaf_reason", "unknown_variant", "no_return_policy",
    "returns_not_configured", "unknown_location", "unknown_condition",
    # An inspection or a decision on a return's unit: whether the unit was received,
    # already inspected or waits for a manual decision is the unit's stored state, and
    # which dispositions go with an acceptance (no restock of a rejected unit) and that
    # each unit is named once are rules across fields and array items.
    "inspection_refused",
    # Edits and unit cancellations: what the order's lines hold now (a line with units,
    # how many, which variant it is) and whether any would be left.
    "quantity_beyond_line", "same_variant", "edit_empties_order", "nothing_to_edit",
    "too_many_lines",
    # A return policy backtest's draft is TOML inside a string: that it parses into a
    # policy version is the policy's to say, not the document's.
    "invalid_policy",
    # Webhook destinations: where a host resolves (DNS, at the time of asking) and
    # whether that address is allowed; a URL's full grammar beyond its pattern; which
    # channels the key may name; redelivery by ids or by a range, not both.
    "destination_not_allowed", "destination_unresolved", "invalid_url",
    "channel_not_allowed", "unknown_channel", "redeliver_what",
    # A customer's email in a path: the address grammar beyond what a path states.
    "invalid_email",
    # Order tags and notes: a tag both added and removed (the same tag in another case
    # across two lists), and the order's limits on how many it keeps.
    "tag_added_and_removed", "too_many_tags", "too_many_notes",
    # Cases: the configured root causes and groups; a case's state (closed cases take
    # nothing, a case keeps at most so many contacts and links); unassigning names no
    # owner (a rule across two fields).
    "unknown_root_cause", "unknown_group", "too_many_contacts", "too_many_links",
    "unassign_with_owner",
    # Customers: a search by one of email, name or phone at a time (a rule across
    # parameters); a merge names another person's record than the one it keeps.
    "one_search_at_a_time", "same_customer",
    # A report's range: `from` before `to`, at most a year apart (a rule across two
    # parameters).
    "empty_range", "range_too_long",
    # A KPI report narrowed to one channel or one location, and then not grouped (a
    # rule across parameters).
    "one_filter",
}


# The payment provider's refusals (402): the card on the order decides, not the request.
PROVIDER_REFUSALS = {"capture_failed", "refund_failed"}


# Refusals allowed only for one field, as (field, code): a card payment needs its token;
# an order's lines may add up to more than 10^13 minor units; which number a stock
# adjustment needs depends on its `kind` (the document says which in each field).
STATEFUL_FIELD_REFUSALS = {
    ("payment.token", "required"),
    ("lines", "amount_out_of_range"),
    ("quantity", "required"),
    ("delta", "required"),
    ("counted", "required"),
    ("expected_on_hand", "required"),
    # Only an exchange names a variant, and it must: a rule across two fields.
    ("wanted.sku", "required"),
    ("wanted.sku", "not_allowed"),
    # Only a reason whose policy pays back the customer's own postage takes a stated
    # shipping cost: the reason's rule, from configuration.
    ("shipping_cost", "not_reimbursed"),
    # An edit's lines at their prices may add up to more than 10^13 minor units.
    ("changes", "amount_out_of_range"),
    # A case queue by group names the group: `queue=group` needs `group`.
    ("group", "required"),
    # A root-cause report's default `from` is 30 days before `to`, which the earliest
    # representable times do not have.
    ("to", "invalid_time"),
}


# Fields whose refusals are a draft policy's rules (POST /returns/backtest): the draft
# arrives as TOML in one string, so every rule of a policy version (window days in range,
# fees, reasons, roles) is beyond what the document can state about that string.
STATEFUL_FIELD_PREFIXES = ("policy.",)


def explained(error):
    code = error.get("code")
    field = error.get("field") or ""
    return (
        code in STATEFUL_REFUSALS
        or (field, code) in STATEFUL_FIELD_REFUSALS
        or field.startswith(STATEFUL_FIELD_PREFIXES)
    )


@schemathesis.check
def valid_requests_are_refused_only_for_state(ctx, response, case):
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive:
        return None
    if response.status_code not in (400, 402, 412, 422):
        return None
    try:
        problem = response.json()
    except ValueError:
        raise AssertionError(f"{response.status_code} without a problem+json body")
    if response.status_code == 402:
        if problem.get("code") in PROVIDER_REFUSALS:
            return None
        raise AssertionError(f"402 with {problem.get('code')}: not a provider's refusal")
    errors = problem.get("errors") or [{"code": problem.get("code")}]
    unexplained = sorted(f"{e.get('field')}:{e.get('code')}" for e in errors if not explained(e))
    if unexplained:
        raise AssertionError(
            f"a schema-valid request was refused with {response.status_code} "
            f"{', '.join(unexplained)}: the document does not state this bound"
        )
    return None


# The id of the key the fuzzer sends (.ci/fuzz/run looks it up before the run).
OWN_KEY_ID = os.environ.get("FUZZ_OWN_KEY_ID")
# A well-formed key id that no key has: revoking or rotating it is an ordinary 404.
SPARED_KEY_ID = "key_00000000000000000000000000000000"


@schemathesis.hook
def before_call(ctx, case, **kwargs):
    """Keeps the fuzzer from revoking or rotating the key it works with.

    The document links `GET /api-keys` to `POST /api-keys/{id}/revoke` and `/rotate`, so
    the stateful phase soon revokes the one admin key the run sends, and every request
    after it answers 401: the rest of the run would test nothing. Any other key may be
    revoked or rotated (those the run created itself); revoking a key is tested in
    tests/api/scoping.rs.
    """
    params = case.path_parameters
    if OWN_KEY_ID and params and params.get("id") == OWN_KEY_ID and "/api-keys/" in case.path:
        params["id"] = SPARED_KEY_ID
