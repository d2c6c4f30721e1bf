"""verify_webhook against a real tokens.warning the engine signed and delivered to a receiver of the test's own."""

from __future__ import annotations

import base64
import secrets
import time
import unittest

from live_engine import LiveEngine, wait_for
from webhook_receiver import Received, WebhookReceiver

from tokens_client import WebhookVerificationError, sign_webhook, verify_webhook

SECRET = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


class WebhookVerification(unittest.TestCase):
    receiver: WebhookReceiver
    live: LiveEngine
    warning: Received

    @classmethod
    def setUpClass(cls) -> None:
        cls.receiver = WebhookReceiver()
        cls.live = LiveEngine(env={"TOKENS_NOTIFY_WEBHOOK_URL": cls.receiver.url, "TOKENS_NOTIFY_WEBHOOK_SECRET": SECRET}).start()
        # A Free Starter who spends 9 of 10 tokens crosses 90 %: the engine sends a tokens.warning.
        engine = cls.live.client()
        engine.create_account("hooked")
        for n in range(3):
            engine.record_usage("hooked", "resume_analysis", f"hooked-{n}")
        cls.warning = wait_for(lambda: next(iter(cls.receiver.received), None), "the engine's tokens.warning")

    @classmethod
    def tearDownClass(cls) -> None:
        cls.live.close()
        cls.receiver.close()

    def test_the_engines_own_signature_is_accepted_and_the_event_read(self) -> None:
        event = verify_webhook(SECRET, self.warning.body, self.warning.headers)
        self.assertEqual(event.type, "tokens.warning")
        self.assertTrue(event.id.startswith("msg_"))
        self.assertEqual(event.id, self.warning.headers["webhook-id"])
        self.assertEqual(
            {k: event.data[k] for k in ("userId", "level", "percentUsed", "message", "used", "allocated")},
            {"userId": "hooked", "level": 90, "percentUsed": 90, "message": "⚠️ You have 10% tokens remaining", "used": 9, "allocated": 10},
        )
        self.assertIsNotNone(event.timestamp)
        # Headers in any case, as a framework may hand them over.
        shouted = {k.upper(): v for k, v in self.warning.headers.items()}
        self.assertEqual(verify_webhook(SECRET, self.warning.body.decode(), shouted).id, event.id)

    def test_a_tampered_body_is_refused(self) -> None:
        tampered = self.warning.body.replace(b'"level":90', b'"level":100')
        self.assertNotEqual(tampered, self.warning.body)
        with self.assertRaisesRegex(WebhookVerificationError, "no webhook-signature matches"):
            verify_webhook(SECRET, tampered, self.warning.headers)
        with self.assertRaises(WebhookVerificationError):
            verify_webhook(SECRET, self.warning.body + b" ", self.warning.headers)

    def test_another_secret_is_refused(self) -> None:
        other = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
        with self.assertRaisesRegex(WebhookVerificationError, "no webhook-signature matches"):
            verify_webhook(other, self.warning.body, self.warning.headers)
        with self.assertRaisesRegex(ValueError, "not whsec_ followed by base64"):
            verify_webhook("whsec_not base64!", self.warning.body, self.warning.headers)

    def test_a_stale_or_moved_timestamp_is_refused(self) -> None:
        sent = int(self.warning.headers["webhook-timestamp"])
        self.assertLess(abs(time.time() - sent), 60)
        with self.assertRaisesRegex(WebhookVerificationError, "old"):
            verify_webhook(SECRET, self.warning.body, self.warning.headers, now=sent + 301)
        with self.assertRaisesRegex(WebhookVerificationError, "ahead"):
            verify_webhook(SECRET, self.warning.body, self.warning.headers, now=sent - 301)
        self.assertEqual(verify_webhook(SECRET, self.warning.body, self.warning.headers, now=sent + 299).type, "tokens.warning")
        # A replay that rewrites the timestamp to now no longer matches its signature.
        moved = {**self.warning.headers, "webhook-timestamp": str(sent + 120)}
        with self.assertRaisesRegex(WebhookVerificationError, "no webhook-signature matches"):
            verify_webhook(SECRET, self.warning.body, moved)

    def test_one_matching_signature_among_several_is_enough_and_missing_headers_are_named(self) -> None:
        rotating = {**self.warning.headers, "webhook-signature": "v1,bm90IGl0 v2,whatever " + self.warning.headers["webhook-signature"]}
        self.assertEqual(verify_webhook(SECRET, self.warning.body, rotating).type, "tokens.warning")
        without = {k: v for k, v in self.warning.headers.items() if k.lower() != "webhook-signature"}
        with self.assertRaisesRegex(WebhookVerificationError, "missing header: webhook-signature"):
            verify_webhook(SECRET, self.warning.body, without)

    def test_sign_webhook_makes_the_signature_the_engine_sent(self) -> None:
        h = self.warning.headers
        self.assertEqual(sign_webhook(SECRET, h["webhook-id"], int(h["webhook-timestamp"]), self.warning.body), h["webhook-signature"])


if __name__ == "__main__":
    unittest.main()
