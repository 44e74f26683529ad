-- A signal remembers whether its reports named a capital of its situation (daemon/escalate/situations.py), for
-- escalation rules that count only attacks on a capital (`count = { tag = "strike", capital = true }`).
ALTER TABLE situation_signals ADD COLUMN capital INTEGER NOT NULL DEFAULT 0;
