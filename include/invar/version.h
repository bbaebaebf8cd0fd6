/* invar's version and the versions of its stable interfaces. */
#ifndef INVAR_VERSION_H
#define INVAR_VERSION_H

#define INVAR_VERSION_MAJOR 0
#define INVAR_VERSION_MINOR 1
#define INVAR_VERSION_PATCH 0
#define INVAR_VERSION_STRING "0.1.0"

/* JSON-RPC control protocol (docs/RPC.md). A minor bump adds methods or optional params. */
#define INVAR_RPC_VERSION_MAJOR 1
#define INVAR_RPC_VERSION_MINOR 7

/* Saved configuration format (docs/CONFIG.md). invard refuses a newer version and writes the
 * lowest version that expresses the file: 2 adds portal objects with a group tag other than 1,
 * "auth" and "discovery_auth". */
#define INVAR_CONFIG_VERSION 3

#endif
