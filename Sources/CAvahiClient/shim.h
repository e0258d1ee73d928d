// The parts of libavahi-client (0.8) that AvahiDNSSD uses. Nothing else in the project includes Avahi.
#ifndef ZOOREG_CAVAHICLIENT_SHIM_H
#define ZOOREG_CAVAHICLIENT_SHIM_H

#include <avahi-client/client.h>
#include <avahi-client/publish.h>
#include <avahi-client/lookup.h>
#include <avahi-common/thread-watch.h>
#include <avahi-common/strlst.h>
#include <avahi-common/error.h>
#include <avahi-common/alternative.h>
#include <avahi-common/malloc.h>
#include <avahi-common/address.h>
#include <avahi-common/defs.h>
#include <avahi-common/domain.h>

#endif
