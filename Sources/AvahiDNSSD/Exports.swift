// DNS-SD names, types and TXT records live in the pure DNSSDCore module beneath this shell; re-exported so that
// users of AvahiDNSSD see them as before.
@_exported import DNSSDCore
