-- Gateways (SIP trunks) added from the web admin (issue 6). Gateways of the configuration
-- files are not stored here; a web gateway never has the name of a configured one.
-- Times are Unix milliseconds (UTC).

CREATE TABLE gateways (
    name                     TEXT PRIMARY KEY NOT NULL,   -- [A-Za-z0-9_.-]+, used by the dialplan
    address                  TEXT NOT NULL,               -- 'host:port' ([v6]:port), as validated
    transport                TEXT NOT NULL CHECK (transport IN ('udp', 'tcp', 'tls')),
    trust_inbound_by_source  INTEGER NOT NULL DEFAULT 0,  -- 1: requests from its IP skip digest auth
    created                  INTEGER NOT NULL,
    updated                  INTEGER NOT NULL
);
