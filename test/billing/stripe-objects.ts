import { randomBytes } from 'node:crypto';
import type Stripe from 'stripe';

/**
 * Stripe's objects as Stripe sends them in webhooks, typed by the `stripe` package so the compiler holds
 * every field to Stripe's own shape (the current API version). The pre-2025-03-31 ("acacia" and older)
 * shape is the current type with the fields that API version had instead: Stripe's changelog for
 * 2025-03-31.basil moved an invoice's `subscription`, `subscription_details`, `payment_intent` and `charge`
 * (to `parent` and the includable `payments` list, which webhooks never carry), a line's `price` and
 * `proration` (to `pricing` and `parent`), and a subscription's `current_period_*` (to its items).
 * Shapes were checked against Stripe's published OpenAPI fixtures (stripe/openapi, fixtures3.json).
 */
export type Shape = 'current' | 'legacy';

export const stripeId = (prefix: string) => `${prefix}_${randomBytes(8).toString('hex')}`;
export const unix = (at: string | Date) => Math.floor(new Date(at).getTime() / 1000);

export type LegacyInvoiceLine = Omit<Stripe.InvoiceLineItem, 'parent' | 'pricing'> & {
  price: Stripe.Price | null;
  proration: boolean;
  type: 'subscription' | 'invoiceitem';
};
export type LegacyInvoice = Omit<Stripe.Invoice, 'parent' | 'payments' | 'lines'> & {
  subscription: string | null;
  subscription_details: { metadata: Stripe.Metadata | null } | null;
  payment_intent: string | null;
  charge: string | null;
  paid: boolean;
  lines: Stripe.ApiList<LegacyInvoiceLine>;
};
export type LegacySubscription = Stripe.Subscription & { current_period_start: number; current_period_end: number };

export interface PriceSpec {
  id: string;
  lookupKey?: string | null;
  amount: number;
  interval: 'month' | 'year';
}

export function price(p: PriceSpec): Stripe.Price {
  return {
    id: p.id,
    object: 'price',
    active: true,
    billing_scheme: 'per_unit',
    created: 1_700_000_000,
    currency: 'usd',
    custom_unit_amount: null,
    livemode: false,
    lookup_key: p.lookupKey ?? null,
    metadata: {},
    nickname: null,
    product: 'prod_token_engine',
    recurring: { interval: p.interval, interval_count: 1, meter: null, trial_period_days: null, usage_type: 'licensed' },
    tax_behavior: 'unspecified',
    tiers_mode: null,
    transform_quantity: null,
    type: 'recurring',
    unit_amount: p.amount,
    unit_amount_decimal: null,
  };
}

function legacyPlan(p: Stripe.Price): Stripe.Plan {
  return {
    id: p.id,
    object: 'plan',
    active: true,
    amount: p.unit_amount,
    amount_decimal: null,
    billing_scheme: 'per_unit',
    created: p.created,
    currency: p.currency,
    interval: p.recurring?.interval ?? 'month',
    interval_count: 1,
    livemode: false,
    metadata: {},
    meter: null,
    nickname: null,
    product: typeof p.product === 'string' ? p.product : null,
    tiers_mode: null,
    transform_usage: null,
    trial_period_days: null,
    usage_type: 'licensed',
  };
}

export interface SubscriptionSpec {
  id: string;
  metadata?: Record<string, string>;
  status?: Stripe.Subscription.Status;
  price: PriceSpec;
  period: { start: string | Date; end: string | Date };
  created: string | Date;
  cancelAtPeriodEnd?: boolean;
  canceledAt?: string | Date | null;
  endedAt?: string | Date | null;
  shape?: Shape;
}

export function subscription(s: SubscriptionSpec): Stripe.Subscription | LegacySubscription {
  const start = unix(s.period.start);
  const end = unix(s.period.end);
  const thePrice = price(s.price);
  const item: Stripe.SubscriptionItem = {
    id: `si_${s.id.slice(4)}`,
    object: 'subscription_item',
    billing_thresholds: null,
    created: unix(s.created),
    current_period_end: end,
    current_period_start: start,
    current_trial: null,
    discounts: [],
    metadata: {},
    plan: legacyPlan(thePrice),
    price: thePrice,
    quantity: 1,
    subscription: s.id,
    tax_rates: [],
  };
  const sub: Stripe.Subscription = {
    id: s.id,
    object: 'subscription',
    application: null,
    application_fee_percent: null,
    automatic_tax: { disabled_reason: null, enabled: false, liability: null },
    billing_cycle_anchor: unix(s.created),
    billing_cycle_anchor_config: null,
    billing_mode: { flexible: null, type: 'classic' },
    billing_schedules: [],
    billing_thresholds: null,
    cancel_at: null,
    cancel_at_period_end: s.cancelAtPeriodEnd ?? false,
    canceled_at: s.canceledAt ? unix(s.canceledAt) : null,
    cancellation_details: { comment: null, feedback: null, feedback_option: null, reason: s.canceledAt ? 'cancellation_requested' : null },
    collection_method: 'charge_automatically',
    created: unix(s.created),
    currency: 'usd',
    customer: 'cus_token_engine',
    customer_account: null,
    days_until_due: null,
    default_payment_method: null,
    default_source: null,
    description: null,
    discounts: [],
    ended_at: s.endedAt ? unix(s.endedAt) : null,
    invoice_settings: { account_tax_ids: null, custom_fields: null, description: null, footer: null, issuer: { type: 'self' } },
    items: { object: 'list', data: [item], has_more: false, url: `/v1/subscription_items?subscription=${s.id}` },
    latest_invoice: null,
    livemode: false,
    managed_payments: null,
    metadata: s.metadata ?? {},
    next_pending_invoice_item_invoice: null,
    on_behalf_of: null,
    pause_collection: null,
    payment_settings: null,
    pending_invoice_item_interval: null,
    pending_setup_intent: null,
    pending_update: null,
    schedule: null,
    start_date: unix(s.created),
    status: s.status ?? 'active',
    test_clock: null,
    transfer_data: null,
    trial_end: null,
    trial_settings: null,
    trial_start: null,
  };
  if (s.shape !== 'legacy') return sub;
  return { ...sub, current_period_start: start, current_period_end: end } satisfies LegacySubscription;
}

export interface LineSpec {
  amount: number;
  price: PriceSpec;
  period: { start: string | Date; end: string | Date };
  proration?: boolean;
}

export interface InvoiceSpec {
  id: string;
  subscription: string;
  /** The subscription's metadata, as Stripe snapshots it on the invoice. */
  metadata?: Record<string, string>;
  billingReason?: Stripe.Invoice.BillingReason;
  paid: boolean;
  lines: LineSpec[];
  created: string | Date;
  /** Legacy shape only: the current shape never carries them (they come in invoice_payment.paid). */
  paymentIntent?: string;
  charge?: string;
  shape?: Shape;
}

export function invoice(i: InvoiceSpec): Stripe.Invoice | LegacyInvoice {
  const amount = i.lines.reduce((s, l) => s + l.amount, 0);
  const currentLines: Stripe.InvoiceLineItem[] = i.lines.map((l, n) => ({
    id: `il_${i.id.slice(3)}_${n}`,
    object: 'line_item',
    amount: l.amount,
    currency: 'usd',
    description: l.proration ? 'Remaining time on the new plan' : '1 × Token plan',
    discount_amounts: [],
    discountable: !l.proration,
    discounts: [],
    invoice: i.id,
    livemode: false,
    metadata: {},
    parent: {
      type: 'subscription_item_details',
      invoice_item_details: null,
      subscription_item_details: {
        invoice_item: null,
        proration: l.proration ?? false,
        proration_details: { credited_items: null },
        subscription: i.subscription,
        subscription_item: `si_${i.subscription.slice(4)}`,
      },
    },
    period: { start: unix(l.period.start), end: unix(l.period.end) },
    pretax_credit_amounts: [],
    pricing: { type: 'price_details', price_details: { price: l.price.id, product: 'prod_token_engine' }, unit_amount_decimal: null },
    quantity: 1,
    quantity_decimal: null,
    subscription: i.subscription,
    subtotal: l.amount,
    taxes: [],
  }));
  const created = unix(i.created);
  const base = {
    id: i.id,
    object: 'invoice' as const,
    account_country: 'US',
    account_name: 'Token Engine',
    account_tax_ids: null,
    amount_due: amount,
    amount_overpaid: 0,
    amount_paid: i.paid ? amount : 0,
    amount_remaining: i.paid ? 0 : amount,
    amount_shipping: 0,
    application: null,
    attempt_count: 1,
    attempted: true,
    auto_advance: !i.paid,
    automatic_tax: { disabled_reason: null, enabled: false, liability: null, provider: null, status: null },
    automatically_finalizes_at: null,
    billing_reason: i.billingReason ?? 'subscription_cycle',
    collection_method: 'charge_automatically' as const,
    created,
    currency: 'usd',
    custom_fields: null,
    customer: 'cus_token_engine',
    customer_account: null,
    customer_address: null,
    customer_email: null,
    customer_name: null,
    customer_phone: null,
    customer_shipping: null,
    customer_tax_exempt: 'none' as const,
    customer_tax_ids: [],
    default_payment_method: null,
    default_source: null,
    default_tax_rates: [],
    description: null,
    discounts: [],
    due_date: null,
    effective_at: created,
    ending_balance: 0,
    footer: null,
    from_invoice: null,
    hosted_invoice_url: null,
    invoice_pdf: null,
    issuer: { type: 'self' as const },
    last_finalization_error: null,
    latest_revision: null,
    livemode: false,
    metadata: {},
    next_payment_attempt: i.paid ? null : created + 3 * 86_400,
    number: `TE-${i.id.slice(-6)}`,
    on_behalf_of: null,
    payment_settings: { default_mandate: null, payment_method_options: null, payment_method_types: null },
    // The invoice's own period is the one before a renewal's lines; the lines carry the period it pays.
    period_end: created,
    period_start: created,
    post_payment_credit_notes_amount: 0,
    pre_payment_credit_notes_amount: 0,
    receipt_number: null,
    rendering: null,
    shipping_cost: null,
    shipping_details: null,
    starting_balance: 0,
    statement_descriptor: null,
    status: (i.paid ? 'paid' : 'open') as Stripe.Invoice.Status,
    status_transitions: { finalized_at: created, marked_uncollectible_at: null, paid_at: i.paid ? created : null, voided_at: null },
    subtotal: amount,
    subtotal_excluding_tax: amount,
    test_clock: null,
    total: amount,
    total_discount_amounts: [],
    total_excluding_tax: amount,
    total_pretax_credit_amounts: [],
    total_taxes: [],
    webhooks_delivered_at: null,
  };
  const lines = { object: 'list' as const, has_more: false, url: `/v1/invoices/${i.id}/lines` };
  if (i.shape === 'legacy') {
    const legacyLines: LegacyInvoiceLine[] = currentLines.map(({ parent: _parent, pricing: _pricing, ...rest }, n) => ({
      ...rest,
      price: price(i.lines[n]!.price),
      proration: i.lines[n]!.proration ?? false,
      type: 'subscription',
    }));
    const legacy: LegacyInvoice = {
      ...base,
      subscription: i.subscription,
      subscription_details: { metadata: i.metadata ?? {} },
      payment_intent: i.paymentIntent ?? null,
      charge: i.charge ?? null,
      paid: i.paid,
      lines: { ...lines, data: legacyLines },
    };
    return legacy;
  }
  const current: Stripe.Invoice = {
    ...base,
    parent: { type: 'subscription_details', quote_details: null, subscription_details: { metadata: i.metadata ?? {}, subscription: i.subscription } },
    lines: { ...lines, data: currentLines },
  };
  return current;
}

export function invoicePayment(p: { invoice: string; paymentIntent: string; amount: number; at: string | Date }): Stripe.InvoicePayment {
  return {
    id: stripeId('inpay'),
    object: 'invoice_payment',
    amount_paid: p.amount,
    amount_requested: p.amount,
    created: unix(p.at),
    currency: 'usd',
    invoice: p.invoice,
    is_default: true,
    livemode: false,
    payment: { type: 'payment_intent', payment_intent: p.paymentIntent },
    status: 'paid',
    status_transitions: { canceled_at: null, paid_at: unix(p.at) },
  };
}

export interface SessionSpec {
  id?: string;
  mode: Stripe.Checkout.Session.Mode;
  metadata: Record<string, string>;
  amount: number;
  paymentStatus?: Stripe.Checkout.Session.PaymentStatus;
  subscription?: string | null;
  invoice?: string | null;
  paymentIntent?: string | null;
  created: string | Date;
}

export function checkoutSession(s: SessionSpec): Stripe.Checkout.Session {
  const created = unix(s.created);
  return {
    id: s.id ?? stripeId('cs_test'),
    object: 'checkout.session',
    adaptive_pricing: { enabled: false },
    after_expiration: null,
    allow_promotion_codes: null,
    allowed_payment_method_types: null,
    amount_subtotal: s.amount,
    amount_total: s.amount,
    automatic_tax: { enabled: false, liability: null, provider: null, status: null },
    billing_address_collection: null,
    cancel_url: null,
    client_reference_id: null,
    client_secret: null,
    collected_information: null,
    consent: null,
    consent_collection: null,
    created,
    currency: 'usd',
    currency_conversion: null,
    custom_fields: [],
    custom_text: { after_submit: null, shipping_address: null, submit: null, terms_of_service_acceptance: null },
    customer: 'cus_token_engine',
    customer_account: null,
    customer_creation: 'always',
    customer_details: null,
    customer_email: null,
    discounts: [],
    expires_at: created + 86_400,
    integration_identifier: null,
    invoice: s.invoice ?? null,
    invoice_creation: null,
    livemode: false,
    locale: null,
    managed_payments: null,
    metadata: s.metadata,
    mode: s.mode,
    origin_context: null,
    payment_intent: s.paymentIntent ?? null,
    payment_link: null,
    payment_method_collection: 'always',
    payment_method_configuration_details: null,
    payment_method_options: null,
    payment_method_types: ['card', 'sepa_debit'],
    payment_status: s.paymentStatus ?? 'paid',
    permissions: null,
    recovered_from: null,
    saved_payment_method_options: null,
    setup_intent: null,
    shipping_address_collection: null,
    shipping_cost: null,
    shipping_options: [],
    status: 'complete',
    submit_type: null,
    subscription: s.subscription ?? null,
    success_url: 'https://example.test/thanks',
    total_details: { amount_discount: 0, amount_shipping: 0, amount_tax: 0 },
    ui_mode: 'hosted',
    url: null,
    wallet_options: null,
  };
}

export function charge(c: { id?: string; paymentIntent: string | null; amount: number; refunded: number; at: string | Date }): Stripe.Charge {
  return {
    id: c.id ?? stripeId('ch'),
    object: 'charge',
    amount: c.amount,
    amount_captured: c.amount,
    amount_refunded: c.refunded,
    application: null,
    application_fee: null,
    application_fee_amount: null,
    balance_transaction: stripeId('txn'),
    billing_details: { address: null, email: null, name: 'Jenny Rosen', phone: null, tax_id: null },
    calculated_statement_descriptor: 'TOKEN ENGINE',
    captured: true,
    created: unix(c.at),
    currency: 'usd',
    customer: 'cus_token_engine',
    description: null,
    disputed: false,
    failure_balance_transaction: null,
    failure_code: null,
    failure_message: null,
    fraud_details: {},
    livemode: false,
    metadata: {},
    on_behalf_of: null,
    outcome: null,
    paid: true,
    payment_intent: c.paymentIntent,
    payment_method: 'pm_card_visa',
    payment_method_details: null,
    receipt_email: null,
    receipt_number: null,
    receipt_url: null,
    refunded: c.refunded >= c.amount,
    review: null,
    shipping: null,
    source: null,
    source_transfer: null,
    statement_descriptor: null,
    statement_descriptor_suffix: null,
    status: 'succeeded',
    transfer_data: null,
    transfer_group: null,
  };
}

export function refund(r: { id?: string; charge: string; paymentIntent: string | null; amount: number; status: string; at: string | Date }): Stripe.Refund {
  return {
    id: r.id ?? stripeId('re'),
    object: 'refund',
    amount: r.amount,
    balance_transaction: null,
    charge: r.charge,
    created: unix(r.at),
    currency: 'usd',
    customer: 'cus_token_engine',
    customer_account: null,
    metadata: {},
    payment_intent: r.paymentIntent,
    payment_method: null,
    reason: 'requested_by_customer',
    receipt_number: null,
    source_transfer_reversal: null,
    status: r.status,
    transfer_reversal: null,
    ...(r.status === 'failed' ? { failure_reason: 'expired_or_canceled_card' as const } : {}),
  };
}

export function dispute(d: { id?: string; charge: string; paymentIntent: string | null; amount: number; status: Stripe.Dispute.Status; at: string | Date }): Stripe.Dispute {
  const nothing = null;
  return {
    id: d.id ?? stripeId('dp'),
    object: 'dispute',
    amount: d.amount,
    balance_transactions: [],
    charge: d.charge,
    created: unix(d.at),
    currency: 'usd',
    enhanced_eligibility_types: [],
    evidence: {
      access_activity_log: nothing,
      billing_address: nothing,
      cancellation_policy: nothing,
      cancellation_policy_disclosure: nothing,
      cancellation_rebuttal: nothing,
      customer_communication: nothing,
      customer_email_address: nothing,
      customer_name: nothing,
      customer_purchase_ip: nothing,
      customer_signature: nothing,
      duplicate_charge_documentation: nothing,
      duplicate_charge_explanation: nothing,
      duplicate_charge_id: nothing,
      enhanced_evidence: {},
      product_description: nothing,
      receipt: nothing,
      refund_policy: nothing,
      refund_policy_disclosure: nothing,
      refund_refusal_explanation: nothing,
      service_date: nothing,
      service_documentation: nothing,
      shipping_address: nothing,
      shipping_carrier: nothing,
      shipping_date: nothing,
      shipping_documentation: nothing,
      shipping_tracking_number: nothing,
      uncategorized_file: nothing,
      uncategorized_text: nothing,
    },
    evidence_details: { due_by: null, enhanced_eligibility: {}, has_evidence: false, past_due: false, submission_count: 0, submission_method: 'not_submitted' },
    intended_submission_method: null,
    is_charge_refundable: false,
    livemode: false,
    metadata: {},
    payment_intent: d.paymentIntent,
    reason: 'fraudulent',
    status: d.status,
  };
}
