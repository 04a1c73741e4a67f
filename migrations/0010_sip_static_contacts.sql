-- A SIP login may name a fixed address for the agent's phone (a desk phone or gateway that does
-- not register): Asterisk then dials that contact, and the phone counts as reachable.
ALTER TABLE sip_logins ADD COLUMN static_contact VARCHAR(255) NULL;
