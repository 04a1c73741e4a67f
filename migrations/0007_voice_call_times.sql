-- Voice: what the IVR collected travels with the call; when the call entered its queue and when
-- the first agent's phone started ringing (queue entry → ringing is a budgeted latency).
ALTER TABLE voice_calls
  ADD COLUMN ivr_context JSON NULL,
  ADD COLUMN queued_at DATETIME(3) NULL,
  ADD COLUMN rang_at DATETIME(3) NULL;
