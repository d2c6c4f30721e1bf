import { invoicePaymentSchema } from './stripe-objects.js';
import { linkRefs, paymentOf } from './payments.js';
import { failed, waitKeys, type EventOutcome, type PaymentContext } from './payment-context.js';

/**
 * invoice_payment.paid: in the current API shape the only place an invoice's payment intent and charge
 * reach a webhook. They are recorded as paying the invoice, whichever arrives first, so a later refund
 * or dispute of that charge finds the invoice's payment; refunds that arrived first go on.
 */
export async function onInvoicePaymentPaid(ctx: PaymentContext): Promise<EventOutcome> {
  const parsed = invoicePaymentSchema.safeParse(ctx.event.data.object);
  if (!parsed.success) return failed('malformed_event', `not an invoice payment: ${parsed.error.message}`);
  const ip = parsed.data;
  if (!ip.invoice) return failed('malformed_event', `invoice payment ${ip.id} names no invoice`);
  const refs = [ip.payment?.payment_intent, ip.payment?.charge].filter((r): r is string => !!r);
  if (refs.length === 0) return failed('malformed_event', `invoice payment ${ip.id} names no payment intent or charge`);
  const linked = await linkRefs(ctx.trx, refs, { invoice_id: ip.invoice });
  for (const ref of linked) ctx.wake(waitKeys.paymentRef(ref));
  const payment = await paymentOf(ctx.trx, { invoiceId: ip.invoice });
  return {
    status: 'applied',
    code: 'payment_linked',
    message: `${refs.join(' and ')} paid invoice ${ip.invoice}${payment ? '' : ' (its invoice.paid is not recorded yet)'}`,
    userId: payment?.user_id ?? null,
  };
}

