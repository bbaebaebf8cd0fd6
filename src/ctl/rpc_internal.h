/* Between the RPC server (rpc.c) and its method table (methods.c). */
#ifndef INVAR_CTL_RPC_INTERNAL_H
#define INVAR_CTL_RPC_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct daemon;

/* JSON-RPC 2.0 reserved codes (section 5.1). Method failures use -errno instead. */
#define RPC_ERR_PARSE -32700
#define RPC_ERR_INVALID_REQUEST -32600
#define RPC_ERR_METHOD_NOT_FOUND -32601
#define RPC_ERR_INVALID_PARAMS -32602
#define RPC_ERR_INTERNAL -32603

struct rpc_line;
struct rpc_method;

/* One call being handled. A handler sets result, or fails through rpc_fail(), or answers
 * later through rpc_async_begin(). */
struct rpc_call {
	struct daemon *d;
	json_t *result;
	int code;
	char msg[512];
	/* rpc.c's: where the answer goes */
	const struct rpc_method *m;
	json_t *id;		/* borrowed from the request */
	bool notification;
	struct rpc_line *line;	/* NULL: the caller needs the answer now (rpc_process) */
	size_t idx;		/* in line */
	struct rpc_async *async;
};

int rpc_fail(struct rpc_call *c, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Answering later, for a method that waits on the main loop (lu_migrate): the handler calls
 * rpc_async_begin(), keeps the handle and returns 0 without a result; later, on the main
 * loop's thread, it fills rpc_async_call() (result, or rpc_fail) and calls rpc_async_done()
 * exactly once. The client waits as for any answer: its further requests are read only after
 * this one is answered, so answers keep the order of the requests. NULL when this caller needs
 * the answer now (rpc_process: tests, fuzzing) or on ENOMEM: then answer now. */
struct rpc_async;
struct rpc_async *rpc_async_begin(struct rpc_call *c);
struct rpc_call *rpc_async_call(struct rpc_async *a);
void rpc_async_done(struct rpc_async *a);

enum rpc_param_type {
	RPC_PARAM_STRING,	/* const char * at offset (borrowed from the request), NULL if absent */
	RPC_PARAM_INT,		/* int64_t at offset, def if absent, checked against [min, max] */
	RPC_PARAM_BOOL,		/* bool at offset, false if absent */
};

/* Decoder table entry: how one named param lands in the method's params struct. */
struct rpc_param {
	const char *name;
	enum rpc_param_type type;
	bool required;
	size_t offset;
	int64_t min, max, def;	/* INT */
	size_t max_len;		/* STRING, bytes; 0 = no limit beyond the request size */
};

struct rpc_method {
	const char *name;
	int (*fn)(struct rpc_call *c, const void *params);
	const struct rpc_param *params;
	size_t nparams;
	size_t params_size;	/* sizeof the struct the decoder fills */
	bool mutates;		/* logged at info level; the config is saved after it succeeds */
	bool keeps_config;	/* mutates nothing a saved config holds (sessions): not saved */
};

extern const struct rpc_method rpc_methods[];
extern const size_t rpc_nmethods;
/* Access control methods (methods_auth.c). */
extern const struct rpc_method rpc_auth_methods[];
extern const size_t rpc_auth_nmethods;
/* Live migration (migrate.c). */
extern const struct rpc_method rpc_mig_methods[];
extern const size_t rpc_mig_nmethods;
/* Resource limits at run time (methods_limits.c). */
extern const struct rpc_method rpc_limits_methods[];
extern const size_t rpc_limits_nmethods;
/* Sessions: list, logout, drop (methods_session.c). */
extern const struct rpc_method rpc_session_methods[];
extern const size_t rpc_session_nmethods;
/* I/O statistics (methods_stats.c). */
extern const struct rpc_method rpc_stats_methods[];
extern const size_t rpc_stats_nmethods;
/* LU capacity change (methods_resize.c). */
extern const struct rpc_method rpc_resize_methods[];
extern const size_t rpc_resize_nmethods;
/* vhost-user-scsi controllers (methods_vhost.c). */
extern const struct rpc_method rpc_vhost_methods[];
extern const size_t rpc_vhost_nmethods;

#endif
