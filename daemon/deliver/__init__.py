"""Delivery: routing alerts to receivers (route), grouping them into messages (group), the outbox worker that
sends and retries them (worker), and the receivers themselves (receivers/, built by registry)."""
