import nodemailer, { type Transporter } from 'nodemailer';
import type { WarningData } from './record-warnings.js';
import { DeliveryFailed } from './webhook.js';

export interface Email {
  to: string;
  subject: string;
  text: string;
  /** Stable across retries, so a mail client shows a resent message once. */
  messageId: string;
}

/** The seed's message is the subject and the first line; the rest says where the account stands. */
export function warningEmail(data: WarningData): Omit<Email, 'to' | 'messageId'> {
  const renews = data.periodEnd.slice(0, 10);
  return {
    subject: data.message,
    text: [
      data.message,
      '',
      `You have used ${data.used} of your ${data.allocated} tokens this period (${data.percentUsed}%).`,
      `Your tokens renew on ${renews}.`,
      '',
    ].join('\n'),
  };
}

export class Mailer {
  private readonly transport: Transporter;

  constructor(smtpUrl: string, private readonly from: string) {
    this.transport = nodemailer.createTransport(smtpUrl);
  }

  async send(email: Email): Promise<void> {
    try {
      await this.transport.sendMail({
        from: this.from,
        to: email.to,
        subject: email.subject,
        text: email.text,
        messageId: `<${email.messageId}@token-engine>`,
      });
    } catch (error) {
      throw new DeliveryFailed(`SMTP to ${email.to}: ${(error as Error).message}`);
    }
  }

  close(): void {
    this.transport.close();
  }
}
