//! sip::registrar (being written).
