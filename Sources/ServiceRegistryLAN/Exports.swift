// The registry-to-DNS-SD mapping lives in the pure RegistryDNSSD module beneath this shell; re-exported so that
// users of ServiceRegistryLAN see it as before.
@_exported import RegistryDNSSD
